// Package export translates a Compose project into Kubernetes objects:
// a Deployment per service (a StatefulSet when it mounts named volumes), a
// Service per service name so that its DNS name keeps working, a
// PersistentVolumeClaim per named volume, ConfigMaps and Secrets for
// configs and secrets. What has no Kubernetes meaning is reported as a
// Warning (one per object and key), never dropped silently. The
// translation is pure: it reads the project (and the files of its configs
// and secrets), never a cluster.
package export

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
)

// The labels every exported object carries: `k8s down` finds what `k8s
// apply` created by the first two; the service label (also the
// selector's) ties a workload's objects to their compose service.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "compose"
	LabelProject   = "com.docker.compose.project"
	LabelService   = "com.docker.compose.service"
)

// WaitImage runs the init containers that wait for a dependency
// (depends_on: condition: service_healthy): busybox's nc and nslookup.
const WaitImage = "busybox:1.37"

// DefaultVolumeSize is the storage a named volume's claim requests.
const DefaultVolumeSize = "1Gi"

// Options tune the translation.
type Options struct {
	// Namespace, when set, is every object's namespace, and a Namespace
	// object comes first. Empty: objects carry no namespace (the one of
	// the kubectl context, or --namespace of `k8s apply`).
	Namespace string
}

// Warning is one key of one compose object that is not (or not fully)
// exported.
type Warning struct {
	Object  string // `service "web"`, `volume "data"`, `network "back"`, ...
	Key     string // the compose key: "build", "ports", "volumes", ...
	Message string
}

func (w Warning) String() string { return w.Object + ": " + w.Key + ": " + w.Message }

// Manifest is the export of a project.
type Manifest struct {
	Project string
	// Objects in the order they are applied: the Namespace, ConfigMaps,
	// Secrets, claims, Services, then the workloads, dependencies first.
	Objects  []runtime.Object
	Warnings []Warning
}

// Selector is the label selector of everything exported from project.
func Selector(project string) string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelProject + "=" + project
}

// Export translates p. It fails on what cannot be translated at all:
// names that collide once made valid Kubernetes names, a dependency
// cycle, a config or secret whose content cannot be read.
func Export(p *types.Project, opts Options) (*Manifest, error) {
	if _, err := graph.New(p); err != nil {
		return nil, err
	}
	x := &exporter{p: p, opts: opts, m: &Manifest{Project: p.Name}, warned: map[string]int{}}
	if err := x.names(); err != nil {
		return nil, err
	}
	if opts.Namespace != "" {
		x.ns = &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: opts.Namespace, Labels: x.labels("")},
		}
	}
	if err := x.fileObjects(); err != nil {
		return nil, err
	}
	x.volumes()
	x.networks()
	for _, name := range sortedKeys(p.Jobs) {
		x.warn(fmt.Sprintf("job %q", name), "jobs", "not exported (compose jobs have no translation yet)")
	}
	for _, name := range sortedKeys(p.Models) {
		x.warn(fmt.Sprintf("model %q", name), "models", "not exported: models are run by Docker Model Runner")
	}
	for _, name := range p.ServiceNames() {
		if err := x.service(p.Services[name]); err != nil {
			return nil, err
		}
	}
	order, err := dependencyOrder(p)
	if err != nil {
		return nil, err
	}
	x.assemble(order)
	return x.m, nil
}

// exporter carries one translation.
type exporter struct {
	p    *types.Project
	opts Options
	m    *Manifest
	ns   *corev1.Namespace

	svcNames map[string]string // compose service -> its Service/workload name
	volNames map[string]string // compose volume -> claim name
	cfgNames map[string]string // compose config -> ConfigMap name
	secNames map[string]string // compose secret -> Secret name

	configMaps []*corev1.ConfigMap
	secrets    []*corev1.Secret
	claims     []*corev1.PersistentVolumeClaim
	services   []*corev1.Service
	workloads  map[string]runtime.Object // by compose service name

	warned map[string]int // object+key -> index in m.Warnings
}

// warn records a warning; a second one for the same object and key is
// folded into the first, so there is one line per object and key.
func (x *exporter) warn(object, key, msg string) {
	id := object + "\x00" + key
	if i, ok := x.warned[id]; ok {
		if !strings.Contains(x.m.Warnings[i].Message, msg) {
			x.m.Warnings[i].Message += "; " + msg
		}
		return
	}
	x.warned[id] = len(x.m.Warnings)
	x.m.Warnings = append(x.m.Warnings, Warning{Object: object, Key: key, Message: msg})
}

func serviceObject(name string) string { return fmt.Sprintf("service %q", name) }

// labels are the labels of an object exported for service ("" for the
// project's shared objects).
func (x *exporter) labels(service string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelProject: x.p.Name}
	if service != "" {
		l[LabelService] = service
	}
	return l
}

// selector selects the pods of service.
func (x *exporter) selector(service string) map[string]string {
	return map[string]string{LabelProject: x.p.Name, LabelService: service}
}

func (x *exporter) meta(name, service string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: x.opts.Namespace, Labels: x.labels(service)}
}

// names gives every service, volume, config and secret its Kubernetes
// name, warning where it differs and failing where two would collide.
func (x *exporter) names() error {
	var err error
	if x.svcNames, err = x.nameSet("service", x.p.ServiceNames(), dns1035, true); err != nil {
		return err
	}
	if x.volNames, err = x.nameSet("volume", sortedKeys(x.p.Volumes), dns1123Label, false); err != nil {
		return err
	}
	if x.cfgNames, err = x.nameSet("config", sortedKeys(x.p.Configs), dns1123Subdomain, false); err != nil {
		return err
	}
	x.secNames, err = x.nameSet("secret", sortedKeys(x.p.Secrets), dns1123Subdomain, false)
	return err
}

func (x *exporter) nameSet(kind string, keys []string, conv func(string) string, dnsMatters bool) (map[string]string, error) {
	names := map[string]string{}
	by := map[string]string{}
	for _, k := range keys {
		n := conv(k)
		if n == "" {
			return nil, fmt.Errorf("%s %q: no valid Kubernetes name can be made of it: %w", kind, k, errdefs.ErrInvalidArgument)
		}
		if other, ok := by[n]; ok {
			return nil, fmt.Errorf("%s %q and %q both become %q in Kubernetes: %w", kind, other, k, n, errdefs.ErrInvalidArgument)
		}
		by[n] = k
		names[k] = n
		if n != k && dnsMatters {
			x.warn(fmt.Sprintf("%s %q", kind, k), "name", fmt.Sprintf("not a valid Kubernetes name: exported as %q, which is also its DNS name in the cluster", n))
		}
	}
	return names, nil
}

// assemble puts the objects in apply order.
func (x *exporter) assemble(order []string) {
	if x.ns != nil {
		x.m.Objects = append(x.m.Objects, x.ns)
	}
	for _, o := range x.configMaps {
		x.m.Objects = append(x.m.Objects, o)
	}
	for _, o := range x.secrets {
		x.m.Objects = append(x.m.Objects, o)
	}
	for _, o := range x.claims {
		x.m.Objects = append(x.m.Objects, o)
	}
	sort.SliceStable(x.services, func(i, j int) bool { return x.services[i].Name < x.services[j].Name })
	for _, o := range x.services {
		x.m.Objects = append(x.m.Objects, o)
	}
	for _, s := range order {
		if o, ok := x.workloads[s]; ok {
			x.m.Objects = append(x.m.Objects, o)
		}
	}
}

// dependencyOrder lists the services, each after those it depends on,
// by name among equals.
func dependencyOrder(p *types.Project) ([]string, error) {
	g, err := graph.New(p)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	var order []string
	var visit func(string)
	visit = func(s string) {
		if done[s] {
			return
		}
		done[s] = true
		for _, d := range g.Dependencies(s) {
			visit(d)
		}
		order = append(order, s)
	}
	for _, s := range g.Services() {
		visit(s)
	}
	return order, nil
}

// workload wraps a pod template in a Deployment, or in a StatefulSet when
// the pods mount claims (a claim is ReadWriteOnce: a rolling Deployment
// would start the new pod while the old one holds it).
func (x *exporter) workload(s types.ServiceConfig, name string, meta metav1.ObjectMeta, tmpl corev1.PodTemplateSpec, replicas int32, stateful bool) runtime.Object {
	sel := &metav1.LabelSelector{MatchLabels: x.selector(s.Name)}
	if stateful {
		return &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{
				Replicas:            &replicas,
				Selector:            sel,
				Template:            tmpl,
				ServiceName:         name,
				PodManagementPolicy: appsv1.ParallelPodManagement,
			},
		}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: sel,
			Template: tmpl,
		},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
