package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/k8s/cli"
	"github.com/composer-dev/compose/k8s/cluster"
	"github.com/composer-dev/compose/k8s/export"
	"github.com/composer-dev/compose/project"
)

// corpus is Docker's awesome-compose, as the project package tests it.
const corpus = "../../project/testdata/corpus/awesome-compose"

// applied are the projects the real server takes: all of the corpus, and
// export/testdata/keys, which sets most of the keys export translates.
func applied(t *testing.T) []string {
	ents, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(corpus, e.Name()))
		}
	}
	if len(dirs) < 20 {
		t.Fatalf("only %d projects in %s", len(dirs), corpus)
	}
	return append(dirs, "../export/testdata/keys")
}

// startEtcd runs etcd in this process (go.etcd.io/etcd/server/v3/embed)
// and returns its client URL.
func startEtcd(t *testing.T) string {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.UnsafeNoFsync = true // a test's etcd is never restarted
	cfg.LogLevel = "error"
	client, peer := freePort(t), freePort(t)
	cfg.ListenClientUrls = []url.URL{{Scheme: "http", Host: client}}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	cfg.ListenPeerUrls = []url.URL{{Scheme: "http", Host: peer}}
	cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		e.Server.Stop()
		t.Fatal("etcd took too long to start")
	}
	return "http://" + client
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startAPIServer runs a real kube-apiserver (k8s.io/kubernetes's test
// server: the whole API with its validation and admission) on an
// in-process etcd, and writes a kubeconfig for it.
func startAPIServer(t *testing.T) (*rest.Config, string) {
	t.Helper()
	start := time.Now()
	storage := storagebackend.NewDefaultConfig(path.Join("compose-k8s-test", "registry"), nil)
	storage.Transport.ServerList = []string{startEtcd(t)}
	opts := kubeapiservertesting.NewDefaultTestServerOptions()
	opts.DisableInvariantChecks = true
	srv, err := kubeapiservertesting.StartTestServer(t, opts, nil, storage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.TearDownFn)
	t.Logf("kube-apiserver and etcd up in %s", time.Since(start).Round(time.Millisecond))
	rc := srv.ClientConfig

	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{
		Server: rc.Host, CertificateAuthorityData: rc.CAData, TLSServerName: rc.ServerName,
		InsecureSkipTLSVerify: len(rc.CAData) == 0 && rc.Insecure,
	}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{Token: rc.BearerToken, ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, file); err != nil {
		t.Fatal(err)
	}
	return rc, file
}

// run runs compose-k8s with args, returning its stdout and stderr.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := cli.NewRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// TestRealAPIServer applies the export of several projects to a real
// kube-apiserver: every object is accepted (a server-side dry run first,
// then the apply, strict field validation both times), read back as
// exported, applied again without change, and removed by down.
func TestRealAPIServer(t *testing.T) {
	// testdata/keys has a secret from the environment.
	t.Setenv("KEYS_SECRET", "from the environment")
	rc, kubeconfig := startAPIServer(t)
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range applied(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p, err := project.Load(t.Context(), project.Options{WorkDir: dir, Environ: []string{"KEYS_SECRET=from the environment"}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := export.Export(p, export.Options{})
			if err != nil {
				t.Fatal(err)
			}
			objs, err := m.Unstructured()
			if err != nil {
				t.Fatal(err)
			}
			ns := "ns-" + p.Name
			cl := []string{"--project-directory", dir, "-f", filepath.Join(dir, composeFile(t, dir))}
			k := []string{"--kubeconfig", kubeconfig, "--namespace", ns}

			// A dry run cannot check what goes into a namespace that does
			// not exist yet, and says so; nothing is made.
			out, _, err := run(t, append(append(cl, "--dry-run", "apply"), k...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "namespace/"+ns+" created (server dry run)") || !strings.Contains(out, "not checked") {
				t.Errorf("dry run without the namespace:\n%s", out)
			}
			if _, err := dyn.Resource(nsGVR).Get(t.Context(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("the dry run made namespace %s: %v", ns, err)
			}

			out, _, err = run(t, append(append(cl, "apply"), k...)...)
			if err != nil {
				t.Fatalf("apply: %v\n%s", err, out)
			}
			for _, u := range objs {
				if !strings.Contains(out, "/"+u.GetName()+" serverside-applied\n") {
					t.Errorf("apply did not report %s %s:\n%s", u.GetKind(), u.GetName(), out)
				}
			}
			checkNamespace(t, dyn, ns, p.Name)
			for _, u := range objs {
				checkReadBack(t, dyn, ns, u)
			}

			// Applied again, nothing changes.
			before := states(t, dyn, ns, objs)
			out, _, err = run(t, append(append(cl, "--dry-run", "apply"), k...)...)
			if err != nil || !strings.Contains(out, "(server dry run)") {
				t.Fatalf("dry run in an existing namespace: %v\n%s", err, out)
			}
			if _, _, err := run(t, append(append(cl, "apply"), k...)...); err != nil {
				t.Fatal(err)
			}
			after := states(t, dyn, ns, objs)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("a second apply changed %s:\n%s\nthen\n%s", k, v, after[k])
				}
			}

			// down keeps the claims (as compose down keeps volumes), down -v
			// removes them and the namespace apply made.
			if out, _, err = run(t, append(append(cl, "down"), k...)...); err != nil {
				t.Fatalf("down: %v\n%s", err, out)
			}
			for _, u := range objs {
				gone := removed(t, dyn, ns, u)
				if want := u.GetKind() != "PersistentVolumeClaim"; gone != want {
					t.Errorf("after down, %s %s removed: %v, want %v", u.GetKind(), u.GetName(), gone, want)
				}
			}
			if out, _, err = run(t, append(append(cl, "down", "--volumes"), k...)...); err != nil {
				t.Fatalf("down -v: %v\n%s", err, out)
			}
			for _, u := range objs {
				if !removed(t, dyn, ns, u) {
					t.Errorf("after down -v, %s %s is still there", u.GetKind(), u.GetName())
				}
			}
			nso, err := dyn.Resource(nsGVR).Get(t.Context(), ns, metav1.GetOptions{})
			if err == nil && nso.GetDeletionTimestamp() == nil {
				t.Errorf("namespace %s not removed by down -v:\n%s", ns, out)
			}
		})
	}

	t.Run("validation", func(t *testing.T) {
		// The server's validation is what the tests above rely on: a field
		// it does not know is refused (strict field validation), and so
		// is an invalid value, as an invalid argument.
		c, err := cluster.NewForConfig(rc, "default")
		if err != nil {
			t.Fatal(err)
		}
		err = c.Apply(t.Context(), manifestOf(map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "bad"}, "unknownField": "x",
		}), cluster.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), "unknownField") {
			t.Errorf("apply of an unknown field: %v, want an error naming it", err)
		}
		err = c.Apply(t.Context(), manifestOf(map[string]any{
			"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "bad"},
			"spec": map[string]any{"ports": []any{map[string]any{"port": int64(70000)}}},
		}), cluster.ApplyOptions{})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "70000") {
			t.Errorf("apply of an invalid port: %v, want an invalid argument naming it", err)
		}
		if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("default").Get(t.Context(), "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a refused object was stored: %v", err)
		}
	})

	t.Run("orphans", func(t *testing.T) {
		dir := "../export/testdata/keys"
		k := []string{"--kubeconfig", kubeconfig, "--namespace", "orphans"}
		cl := []string{"--project-directory", dir, "-p", "orphans"}
		if _, _, err := run(t, append(append(cl, "-f", filepath.Join(dir, "compose.yaml"), "apply"), k...)...); err != nil {
			t.Fatal(err)
		}
		// web loses its ports (its Service becomes headless, which the
		// server refuses as a change) and its named volume (its
		// StatefulSet becomes a Deployment); the other services are gone.
		one := filepath.Join(t.TempDir(), "compose.yaml")
		writeFile(t, one, "services:\n  web:\n    image: nginx\n")
		out, errOut, err := run(t, append(append(cl, "-f", one, "apply"), k...)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"service/web deleted", "statefulset.apps/web deleted", "deployment.apps/web serverside-applied"} {
			if !strings.Contains(out, want) {
				t.Errorf("apply output lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, "Found orphan objects (") || !strings.Contains(errOut, "deployment.apps/worker") {
			t.Errorf("orphans not reported:\n%s", errOut)
		}
		svc, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "services"}).Namespace("orphans").Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP"); ip != "None" {
			t.Errorf("service web's clusterIP %q, want None", ip)
		}
		out, _, err = run(t, append(append(cl, "-f", one, "apply", "--remove-orphans"), k...)...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "deployment.apps/worker deleted") {
			t.Errorf("--remove-orphans:\n%s", out)
		}
		l, err := dyn.Resource(deployGVR).Namespace("orphans").List(t.Context(), metav1.ListOptions{LabelSelector: export.Selector("orphans")})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range l.Items {
			names = append(names, d.GetName())
		}
		if !slices.Equal(names, []string{"web"}) {
			t.Errorf("deployments left: %v, want web", names)
		}
		if _, _, err := run(t, append(append(cl, "-f", one, "down", "-v"), k...)...); err != nil {
			t.Fatal(err)
		}
	})
}

var (
	nsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func gvr(u *unstructured.Unstructured) schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	res := strings.ToLower(u.GetKind()) + "s"
	if u.GetKind() == "PersistentVolumeClaim" {
		res = "persistentvolumeclaims"
	}
	return gv.WithResource(res)
}

func composeFile(t *testing.T, dir string) string {
	for _, f := range []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"} {
		if fileExists(filepath.Join(dir, f)) {
			return f
		}
	}
	t.Fatalf("no compose file in %s", dir)
	return ""
}

// checkNamespace: apply made the namespace, labelled as the project's.
func checkNamespace(t *testing.T, dyn dynamic.Interface, ns, projectName string) {
	t.Helper()
	o, err := dyn.Resource(nsGVR).Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := o.GetLabels(); l[export.LabelProject] != projectName || l[export.LabelManagedBy] != export.ManagedBy {
		t.Errorf("namespace %s labels: %v", ns, l)
	}
}

// checkReadBack reads u back: every field export set is there, as set
// (the server adds defaults, which are not compared), and owned by the
// field manager compose.
func checkReadBack(t *testing.T, dyn dynamic.Interface, ns string, u *unstructured.Unstructured) {
	t.Helper()
	got, err := dyn.Resource(gvr(u)).Namespace(ns).Get(t.Context(), u.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s %s not read back: %v", u.GetKind(), u.GetName(), err)
		return
	}
	if diff := subset("", u.Object, got.Object); diff != "" {
		t.Errorf("%s %s read back differs: %s", u.GetKind(), u.GetName(), diff)
	}
	if !slices.ContainsFunc(got.GetManagedFields(), func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == cluster.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("%s %s: no apply by field manager %q in %v", u.GetKind(), u.GetName(), cluster.FieldManager, got.GetManagedFields())
	}
}

// subset reports the first value of want that got does not have.
func subset(at string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v, want a map", at, got)
		}
		for k, v := range w {
			if k == "namespace" && at == ".metadata" {
				continue
			}
			if d := subset(at+"."+k, v, g[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %v, want %v", at, got, want)
		}
		for i := range w {
			if d := subset(at+"["+strconv.Itoa(i)+"]", w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Sprintf("%s: %v, want %v", at, got, want)
	}
	return ""
}

// states reads objs back without their resource versions and managed
// fields' times: what an apply that changes nothing leaves as it was. (An
// apply of a claim takes its pvc-protection finalizer, which admission
// adds again at once: only the resource version moves.)
func states(t *testing.T, dyn dynamic.Interface, ns string, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, u := range objs {
		got, err := dyn.Resource(gvr(u)).Namespace(ns).Get(t.Context(), u.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.SetResourceVersion("")
		got.SetManagedFields(nil)
		m[u.GetKind()+"/"+u.GetName()] = fmt.Sprint(got.Object)
	}
	return m
}

// removed reports whether u is gone, or going: deleted, with only the
// finalizers of controllers this test server does not run left (a
// claim's kubernetes.io/pvc-protection).
func removed(t *testing.T, dyn dynamic.Interface, ns string, u *unstructured.Unstructured) bool {
	t.Helper()
	got, err := dyn.Resource(gvr(u)).Namespace(ns).Get(context.Background(), u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return got.GetDeletionTimestamp() != nil
}

// manifestOf is a manifest of one object, as written.
func manifestOf(obj map[string]any) *export.Manifest {
	return &export.Manifest{Project: "bad", Objects: []runtime.Object{&unstructured.Unstructured{Object: obj}}}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
