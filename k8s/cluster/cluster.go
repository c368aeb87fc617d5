// Package cluster applies an export to a Kubernetes cluster with
// client-go (server-side apply, field manager "compose") and removes it
// again (by the labels every exported object carries).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/k8s/export"
)

// FieldManager owns the fields compose applies.
const FieldManager = "compose"

// Config selects the cluster and namespace, as kubectl's flags do.
type Config struct {
	Kubeconfig string // --kubeconfig; "" = $KUBECONFIG, then ~/.kube/config
	Context    string // --context; "" = the current context
	Namespace  string // --namespace; "" = the context's, else "default"
}

// Client acts on one namespace of one cluster.
type Client struct {
	dyn       dynamic.Interface
	Namespace string
	// Out receives a line per object applied or deleted, as kubectl
	// prints them ("deployment.apps/web serverside-applied").
	Out io.Writer
}

// New connects as the kubeconfig says.
func New(c Config) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	overrides.Context.Namespace = c.Namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
	}
	return NewForConfig(rc, ns)
}

// NewForConfig connects with a client configuration.
func NewForConfig(rc *rest.Config, namespace string) (*Client, error) {
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	rc = rest.CopyConfig(rc)
	if rc.QPS == 0 {
		// client-go's default (5 a second) would make an apply of a
		// few dozen objects wait; kubectl's are these.
		rc.QPS, rc.Burst = 50, 300
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	return &Client{dyn: dyn, Namespace: namespace, Out: io.Discard}, nil
}

// kind is a kind of object and its API resource.
type kind struct {
	Kind string
	GVR  schema.GroupVersionResource
}

// kinds are the kinds export makes, in apply order; down removes them in
// reverse.
var kinds = []kind{
	{"ConfigMap", schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}},
	{"Secret", schema.GroupVersionResource{Version: "v1", Resource: "secrets"}},
	{"PersistentVolumeClaim", schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}},
	{"Service", schema.GroupVersionResource{Version: "v1", Resource: "services"}},
	{"StatefulSet", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}},
	{"Deployment", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

func gvrOf(kind string) (schema.GroupVersionResource, bool) {
	for _, k := range kinds {
		if k.Kind == kind {
			return k.GVR, true
		}
	}
	return schema.GroupVersionResource{}, false
}

// ref is how kubectl names an object: deployment.apps/web, service/web.
func ref(gvr schema.GroupVersionResource, kind, name string) string {
	k := strings.ToLower(kind)
	if gvr.Group != "" {
		k += "." + gvr.Group
	}
	return k + "/" + name
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun sends every request as a server-side dry run: the server
	// validates and defaults everything, and stores nothing.
	DryRun bool
	// Force takes over fields another field manager owns (kubectl's
	// --force-conflicts); without it such a conflict is an error.
	Force bool
	// RemoveOrphans deletes the objects an earlier apply of the project
	// made that this export no longer has (a removed service).
	RemoveOrphans bool
	// Warn receives warnings (orphans left in place).
	Warn io.Writer
}

// Apply server-side applies m's objects into the client's namespace
// (created, labelled as the project's, when missing). Every object is
// first sent as a dry run, so an object the server rejects stops the
// apply before anything changed (save the namespace, removed again).
func (c *Client) Apply(ctx context.Context, m *export.Manifest, opts ApplyOptions) error {
	objs, err := m.Unstructured()
	if err != nil {
		return err
	}
	objs = slices.DeleteFunc(objs, func(u *unstructured.Unstructured) bool { return u.GetKind() == "Namespace" })
	created, err := c.ensureNamespace(ctx, m.Project, opts.DryRun)
	if err != nil {
		return err
	}
	if opts.DryRun && created {
		fmt.Fprintf(c.Out, "objects of namespace/%s not checked: it does not exist yet\n", c.Namespace)
		return nil
	}
	replace, err := c.replacements(ctx, m.Project, objs)
	if err != nil {
		return err
	}
	// The check: everything as a dry run first (reported when that is all).
	// An object that is replaced is checked by its real apply, after the
	// deletion the server would otherwise refuse it for.
	var report io.Writer
	if opts.DryRun {
		report = c.Out
	}
	for _, key := range sortedKeys(replace) {
		if r := replace[key]; opts.DryRun {
			fmt.Fprintf(c.Out, "%s would be replaced: %s\n", ref(r.gvr, r.kind, r.name), r.why)
		}
	}
	for _, u := range objs {
		if replace[u.GetKind()+"/"+u.GetName()].replacesItself {
			continue
		}
		if err := c.apply(ctx, u, opts.Force, true, report); err != nil {
			if created && c.dyn.Resource(namespaces).Delete(ctx, c.Namespace, metav1.DeleteOptions{}) == nil {
				fmt.Fprintf(c.Out, "namespace/%s deleted\n", c.Namespace)
			}
			return err
		}
	}
	if opts.DryRun {
		return nil
	}
	for _, key := range sortedKeys(replace) {
		r := replace[key]
		if err := c.delete(ctx, r.gvr, r.kind, r.name, false); err != nil {
			return err
		}
	}
	for _, u := range objs {
		if err := c.apply(ctx, u, opts.Force, false, c.Out); err != nil {
			return err
		}
	}
	return c.orphans(ctx, m.Project, objs, opts)
}

// replacement is an object of the project that an apply must delete
// first: a Service that changes between headless and ClusterIP (the
// server refuses the change), or the workload of a service that changes
// kind (a Deployment that becomes a StatefulSet, as the service gains a
// named volume, or back).
type replacement struct {
	gvr            schema.GroupVersionResource
	kind, name     string
	why            string
	replacesItself bool // the same object is applied again (not checked before)
}

// replacements finds them, keyed by the kind and name of the object of
// objs that replaces them.
func (c *Client) replacements(ctx context.Context, project string, objs []*unstructured.Unstructured) (map[string]replacement, error) {
	out := map[string]replacement{}
	for _, u := range objs {
		key := u.GetKind() + "/" + u.GetName()
		switch u.GetKind() {
		case "Service":
			gvr, _ := gvrOf("Service")
			old, err := c.ours(ctx, gvr, u.GetName(), project)
			if err != nil || old == nil {
				if err != nil {
					return nil, err
				}
				continue
			}
			was, _, _ := unstructured.NestedString(old.Object, "spec", "clusterIP")
			will, _, _ := unstructured.NestedString(u.Object, "spec", "clusterIP")
			if (was == "None") != (will == "None") {
				out[key] = replacement{gvr: gvr, kind: "Service", name: u.GetName(), why: "it changes between headless and ClusterIP", replacesItself: true}
			}
		case "Deployment", "StatefulSet":
			other := map[string]string{"Deployment": "StatefulSet", "StatefulSet": "Deployment"}[u.GetKind()]
			gvr, _ := gvrOf(other)
			old, err := c.ours(ctx, gvr, u.GetName(), project)
			if err != nil {
				return nil, err
			}
			if old != nil {
				out[key] = replacement{gvr: gvr, kind: other, name: u.GetName(), why: "the service is a " + u.GetKind() + " now"}
			}
		}
	}
	return out, nil
}

// ours gets the object of the project named name, nil when there is none.
func (c *Client) ours(ctx context.Context, gvr schema.GroupVersionResource, name, project string) (*unstructured.Unstructured, error) {
	o, err := c.dyn.Resource(gvr).Namespace(c.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", gvr.Resource, name, classify(err))
	}
	if o.GetLabels()[export.LabelProject] != project || o.GetLabels()[export.LabelManagedBy] != export.ManagedBy {
		return nil, nil
	}
	return o, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// apply sends one object as a server-side apply patch, with strict field
// validation: a field the server does not know is an error, not ignored.
func (c *Client) apply(ctx context.Context, u *unstructured.Unstructured, force, dryRun bool, out io.Writer) error {
	gvr, ok := gvrOf(u.GetKind())
	if !ok {
		return fmt.Errorf("%s %q: kind not known to apply: %w", u.GetKind(), u.GetName(), errdefs.ErrInvalidArgument)
	}
	u = u.DeepCopy()
	u.SetNamespace(c.Namespace)
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}
	if dryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := c.dyn.Resource(gvr).Namespace(c.Namespace).Patch(ctx, u.GetName(), types.ApplyPatchType, data, po); err != nil {
		return fmt.Errorf("%s: %w", ref(gvr, u.GetKind(), u.GetName()), classify(err))
	}
	if out != nil {
		fmt.Fprintf(out, "%s serverside-applied%s\n", ref(gvr, u.GetKind(), u.GetName()), dryRunSuffix(dryRun))
	}
	return nil
}

func dryRunSuffix(dryRun bool) string {
	if dryRun {
		return " (server dry run)"
	}
	return ""
}

// ensureNamespace creates the client's namespace when it is missing,
// labelled as made for project. It reports whether it was missing.
func (c *Client) ensureNamespace(ctx context.Context, project string, dryRun bool) (bool, error) {
	_, err := c.dyn.Resource(namespaces).Get(ctx, c.Namespace, metav1.GetOptions{})
	if err == nil {
		return false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("namespace %q: %w", c.Namespace, classify(err))
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": c.Namespace, "labels": map[string]any{
			export.LabelManagedBy: export.ManagedBy, export.LabelProject: project,
		}},
	}}
	co := metav1.CreateOptions{FieldManager: FieldManager, FieldValidation: "Strict"}
	if dryRun {
		co.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := c.dyn.Resource(namespaces).Create(ctx, ns, co); err != nil {
		return false, fmt.Errorf("namespace %q: %w", c.Namespace, classify(err))
	}
	fmt.Fprintf(c.Out, "namespace/%s created%s\n", c.Namespace, dryRunSuffix(dryRun))
	return true, nil
}

// orphans deletes (RemoveOrphans) or reports the project's objects that
// objs no longer has.
func (c *Client) orphans(ctx context.Context, project string, objs []*unstructured.Unstructured, opts ApplyOptions) error {
	want := map[string]bool{}
	for _, u := range objs {
		want[u.GetKind()+"/"+u.GetName()] = true
	}
	var left []string
	for i := len(kinds) - 1; i >= 0; i-- {
		k := kinds[i]
		list, err := c.list(ctx, k.GVR, project)
		if err != nil {
			return err
		}
		for _, o := range list {
			if want[k.Kind+"/"+o.GetName()] {
				continue
			}
			if !opts.RemoveOrphans {
				left = append(left, ref(k.GVR, k.Kind, o.GetName()))
				continue
			}
			if err := c.delete(ctx, k.GVR, k.Kind, o.GetName(), false); err != nil {
				return err
			}
		}
	}
	if len(left) > 0 && opts.Warn != nil {
		fmt.Fprintf(opts.Warn, "WARN[0000] Found orphan objects (%s) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n", strings.Join(left, " "))
	}
	return nil
}

func (c *Client) list(ctx context.Context, gvr schema.GroupVersionResource, project string) ([]unstructured.Unstructured, error) {
	l, err := c.dyn.Resource(gvr).Namespace(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: export.Selector(project)})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", gvr.Resource, classify(err))
	}
	return l.Items, nil
}

func (c *Client) delete(ctx context.Context, gvr schema.GroupVersionResource, kind, name string, dryRun bool) error {
	do := metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}
	if dryRun {
		do.DryRun = []string{metav1.DryRunAll}
	}
	err := c.dyn.Resource(gvr).Namespace(c.Namespace).Delete(ctx, name, do)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ref(gvr, kind, name), classify(err))
	}
	fmt.Fprintf(c.Out, "%s deleted%s\n", ref(gvr, kind, name), dryRunSuffix(dryRun))
	return nil
}

// DownOptions tune Down.
type DownOptions struct {
	// Volumes removes the claims too (their data with them), as
	// `compose down --volumes` removes named volumes.
	Volumes bool
	DryRun  bool
}

// Down deletes what Apply made for project: its workloads, Services,
// Secrets and ConfigMaps (and claims with Volumes), found by their labels;
// then the namespace when Apply created it for project and nothing else
// lives in it.
func (c *Client) Down(ctx context.Context, project string, opts DownOptions) error {
	if project == "" {
		return fmt.Errorf("no project name: %w", errdefs.ErrInvalidArgument)
	}
	for i := len(kinds) - 1; i >= 0; i-- {
		k := kinds[i]
		if k.Kind == "PersistentVolumeClaim" && !opts.Volumes {
			continue
		}
		list, err := c.list(ctx, k.GVR, project)
		if err != nil {
			return err
		}
		for _, o := range list {
			if err := c.delete(ctx, k.GVR, k.Kind, o.GetName(), opts.DryRun); err != nil {
				return err
			}
		}
	}
	if !opts.Volumes {
		return nil
	}
	return c.removeNamespace(ctx, project, opts.DryRun)
}

// removeNamespace deletes the namespace if it is labelled as made for
// project and holds nothing that is not the project's.
func (c *Client) removeNamespace(ctx context.Context, project string, dryRun bool) error {
	ns, err := c.dyn.Resource(namespaces).Get(ctx, c.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("namespace %q: %w", c.Namespace, classify(err))
	}
	l := ns.GetLabels()
	if l[export.LabelManagedBy] != export.ManagedBy || l[export.LabelProject] != project || ns.GetDeletionTimestamp() != nil {
		return nil
	}
	others := append(slices.Clone(kinds), kind{"Pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}})
	for _, k := range others {
		list, err := c.dyn.Resource(k.GVR).Namespace(c.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing %s: %w", k.GVR.Resource, classify(err))
		}
		for _, o := range list.Items {
			if o.GetLabels()[export.LabelProject] == project || o.GetDeletionTimestamp() != nil ||
				(k.Kind == "ConfigMap" && o.GetName() == "kube-root-ca.crt") {
				continue
			}
			fmt.Fprintf(c.Out, "namespace/%s kept: %s is not the project's\n", c.Namespace, ref(k.GVR, k.Kind, o.GetName()))
			return nil
		}
	}
	do := metav1.DeleteOptions{}
	if dryRun {
		do.DryRun = []string{metav1.DryRunAll}
	}
	if err := c.dyn.Resource(namespaces).Delete(ctx, c.Namespace, do); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %q: %w", c.Namespace, classify(err))
	}
	fmt.Fprintf(c.Out, "namespace/%s deleted%s\n", c.Namespace, dryRunSuffix(dryRun))
	return nil
}

// classify gives an API error its class, keeping its message.
func classify(err error) error {
	var class error
	switch {
	case apierrors.IsNotFound(err):
		class = errdefs.ErrNotFound
	case apierrors.IsAlreadyExists(err):
		class = errdefs.ErrAlreadyExists
	case apierrors.IsConflict(err):
		class = errdefs.ErrConflict
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		class = errdefs.ErrInvalidArgument
	case errors.Is(err, context.Canceled):
		return err
	default:
		return err
	}
	return errdefs.Mark(class, err)
}

func ptr[T any](v T) *T { return &v }
