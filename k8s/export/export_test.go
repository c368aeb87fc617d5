package export

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/project"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const corpus = "../../project/testdata/corpus/awesome-compose"

// TestGolden compares the export of corpus projects (and testdata/keys,
// which sets most keys) with testdata/golden: the YAML stream, and the
// warnings. go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name, dir, namespace string
	}{
		{"nginx-golang-postgres", corpus + "/nginx-golang-postgres", ""},
		{"react-java-mysql", corpus + "/react-java-mysql", ""},
		{"elasticsearch-logstash-kibana", corpus + "/elasticsearch-logstash-kibana", ""},
		{"prometheus-grafana", corpus + "/prometheus-grafana", ""},
		{"traefik-golang", corpus + "/traefik-golang", "traefik"},
		{"keys", "testdata/keys", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := exportDir(t, tc.dir, Options{Namespace: tc.namespace})
			var out bytes.Buffer
			if err := m.WriteStream(&out); err != nil {
				t.Fatal(err)
			}
			var warns strings.Builder
			for _, w := range m.Warnings {
				warns.WriteString(w.String() + "\n")
			}
			golden(t, filepath.Join("testdata", "golden", tc.name+".yaml"), out.String())
			golden(t, filepath.Join("testdata", "golden", tc.name+".warnings"), warns.String())
		})
	}
}

func exportDir(t *testing.T, dir string, opts Options) *Manifest {
	t.Helper()
	p, err := project.Load(t.Context(), project.Options{WorkDir: dir, Environ: []string{"KEYS_SECRET=from the environment"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Export(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

// TestEveryKeyAccounted sets every key of a service and checks that each
// is translated, ignored on purpose, or warned about: none is dropped
// silently, including keys compose-go adds later.
func TestEveryKeyAccounted(t *testing.T) {
	var s types.ServiceConfig
	fill(reflect.ValueOf(&s).Elem())
	all := setKeys(reflect.ValueOf(s))
	if len(all) < 100 {
		t.Fatalf("only %d keys set: %v", len(all), all)
	}
	x := &exporter{p: &types.Project{Name: "p"}, m: &Manifest{}, warned: map[string]int{}}
	x.unsupported(`service "s"`, s)
	warned := map[string]bool{}
	for _, w := range x.m.Warnings {
		warned[w.Key] = true
	}
	for _, k := range all {
		if translated[k] == warned[k] && !ignored[k] {
			t.Errorf("key %q: translated %v, warned %v", k, translated[k], warned[k])
		}
	}
	for k := range reasons {
		if !slices.Contains(all, k) {
			t.Errorf("reasons names %q, which is no key of a service", k)
		}
	}
}

// fill sets every field of v to a value that is not its zero.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"web":      "web",
		"Web_App":  "web-app",
		"my.svc":   "my-svc",
		"1db":      "s-1db",
		"_x_":      "x",
		"a--b":     "a--b",
		"ÜberProx": "berprox",
	} {
		if got := dns1035(in); got != want {
			t.Errorf("dns1035(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("a", 80)
	if got := dns1123Label(long); len(got) != 63 || got == dns1123Label(long+"b") {
		t.Errorf("dns1123Label of 80 characters: %q (%d)", got, len(got))
	}
	if got := dns1123Subdomain("Nginx.Conf_v2"); got != "nginx.conf-v2" {
		t.Errorf("dns1123Subdomain: %q", got)
	}
	if got := dataKey("my config/file"); got != "my_config_file" {
		t.Errorf("dataKey: %q", got)
	}
}

// TestNameCollision: two services whose Kubernetes names are the same
// are an invalid argument, naming both.
func TestNameCollision(t *testing.T) {
	p := &types.Project{Name: "p", Services: types.Services{
		"web_app": {Name: "web_app", ContainerSpec: types.ContainerSpec{Image: "a"}},
		"web-app": {Name: "web-app", ContainerSpec: types.ContainerSpec{Image: "b"}},
	}}
	_, err := Export(p, Options{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `"web-app" and "web_app"`) {
		t.Errorf("err = %v", err)
	}
}

func TestCommandArgs(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		entrypoint, command  types.ShellCommand
		wantCommand, wantArg []string
		warned               bool
	}{
		{"neither", nil, nil, nil, nil, false},
		{"command", nil, types.ShellCommand{"run", "$(x)"}, nil, []string{"run", "$$(x)"}, false},
		{"entrypoint", types.ShellCommand{"/e"}, nil, []string{"/e"}, nil, false},
		{"both", types.ShellCommand{"/e"}, types.ShellCommand{"a"}, []string{"/e"}, []string{"a"}, false},
		{"entrypoint cleared", types.ShellCommand{}, types.ShellCommand{"prog", "a"}, []string{"prog", "a"}, nil, false},
		{"entrypoint cleared alone", types.ShellCommand{}, nil, nil, nil, true},
		{"empty command", nil, types.ShellCommand{}, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warned := false
			c, a := commandArgs(tc.entrypoint, tc.command, func(string, string) { warned = true })
			if !slices.Equal(c, tc.wantCommand) || !slices.Equal(a, tc.wantArg) || warned != tc.warned {
				t.Errorf("command %q args %q warned %v", c, a, warned)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"$HOME":        "$HOME",
		"$(x)":         "$$(x)",
		"a$$b":         "a$$$$b",
		"$(x) and $y":  "$$(x) and $$y",
		"cost: 5$ (!)": "cost: 5$ (!)",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProbe(t *testing.T) {
	d := func(s int) *types.Duration { v := types.Duration(int64(s) * 1e9); return &v }
	retries := uint64(7)
	p := probe(&types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD-SHELL", "curl -f localhost/$(id)"}, Interval: d(3), Timeout: d(1), Retries: &retries}, func(string, string) {})
	if p == nil || !slices.Equal(p.Exec.Command, []string{"/bin/sh", "-c", "curl -f localhost/$$(id)"}) ||
		p.PeriodSeconds != 3 || p.TimeoutSeconds != 1 || p.FailureThreshold != 7 {
		t.Errorf("CMD-SHELL probe: %+v", p)
	}
	p = probe(&types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "pg_isready", "-q"}}, func(string, string) {})
	if p == nil || !slices.Equal(p.Exec.Command, []string{"pg_isready", "-q"}) || p.PeriodSeconds != 30 || p.FailureThreshold != 3 {
		t.Errorf("CMD probe with Docker's defaults: %+v", p)
	}
	for _, hc := range []*types.HealthCheckConfig{nil, {Disable: true, Test: types.HealthCheckTest{"CMD", "x"}}, {Test: types.HealthCheckTest{"NONE"}}} {
		if p := probe(hc, func(string, string) { t.Error("warned") }); p != nil {
			t.Errorf("probe(%+v) = %+v, want none", hc, p)
		}
	}
}

// TestWorkloadKinds: a service with a named volume is a StatefulSet
// governed by its Service; replicas come from deploy.replicas or scale.
func TestWorkloadKinds(t *testing.T) {
	m := exportDir(t, "testdata/keys", Options{})
	kinds := map[string]string{}
	for _, o := range m.Objects {
		switch o := o.(type) {
		case *appsv1.Deployment:
			kinds[o.Name] = "Deployment"
			if o.Name == "worker" && *o.Spec.Replicas != 3 {
				t.Errorf("worker replicas %d, want 3 (scale)", *o.Spec.Replicas)
			}
		case *appsv1.StatefulSet:
			kinds[o.Name] = "StatefulSet"
			if o.Spec.ServiceName != o.Name {
				t.Errorf("statefulset %s governed by %q", o.Name, o.Spec.ServiceName)
			}
			if o.Name == "web" && *o.Spec.Replicas != 2 {
				t.Errorf("web replicas %d, want 2 (deploy.replicas)", *o.Spec.Replicas)
			}
		case *corev1.Service:
			if o.Name == "db" && o.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("db, without ports, is not headless: %+v", o.Spec)
			}
		}
	}
	want := map[string]string{"api": "Deployment", "worker": "Deployment", "db": "StatefulSet", "web": "StatefulSet"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("workloads %v, want %v", kinds, want)
	}
}

// TestWriteDir: a file per object, in apply order; files an earlier export
// wrote and this one did not are removed, other files are kept.
func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	keys := exportDir(t, "testdata/keys", Options{Namespace: "keys"})
	paths, err := keys.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(keys.Objects) || filepath.Base(paths[0]) != "00-namespace-keys.yaml" {
		t.Fatalf("wrote %v", paths)
	}
	mine := filepath.Join(dir, "notes.yaml")
	if err := os.WriteFile(mine, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	small := exportDir(t, corpus+"/nginx-golang-postgres", Options{})
	if _, err := small.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != len(small.Objects)+1 || !slices.Contains(names, "notes.yaml") || slices.Contains(names, "00-namespace-keys.yaml") {
		t.Errorf("after the second export: %v", names)
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			t.Errorf("temporary file left: %s", n)
		}
	}
}
