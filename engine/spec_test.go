package engine

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

func TestServiceNetworksOrder(t *testing.T) {
	svc := svcWith(types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{
		"b": nil, "a": {}, "front": {Priority: 10},
	}})
	if got := serviceNetworks(svc); !reflect.DeepEqual(got, []string{"front", "a", "b"}) {
		t.Fatalf("got %v", got)
	}
	if got := serviceNetworks(types.ServiceConfig{}); !reflect.DeepEqual(got, []string{"default"}) {
		t.Fatalf("got %v", got)
	}
}

func TestRunDirShortAndPerRoot(t *testing.T) {
	a, b := RunDir("/var/lib/compose"), RunDir("/tmp/x")
	if a == b || len(a) > 40 {
		t.Fatalf("RunDir: %q %q", a, b)
	}
}

func svcWith(c types.ContainerSpec) types.ServiceConfig {
	return types.ServiceConfig{ContainerSpec: c}
}

// TestBuildSpec checks the glue around specgen: the runtime's own checks
// reach it, and the container's /etc files are written.
func TestBuildSpec(t *testing.T) {
	root := t.TempDir()
	store := &record.Store{Root: root}
	newRec := func() *record.Record {
		id := record.NewID()
		r := &record.Record{ID: id, Name: "p-web-1", Project: "p", Service: "web", Dir: store.Dir(id), Labels: map[string]string{record.LabelWorkingDir: root}}
		if err := os.MkdirAll(r.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return r
	}
	img := &image.Image{Config: v1.Config{Cmd: []string{"sh"}}}
	rec := newRec()
	spec, err := buildSpec(rec, svcWith(types.ContainerSpec{CapAdd: []string{"net_admin"}}), img)
	if err != nil {
		t.Fatal(err)
	}
	hostname, _ := os.ReadFile(filepath.Join(rec.Dir, "hostname"))
	hosts, _ := os.ReadFile(filepath.Join(rec.Dir, "hosts"))
	if spec.Hostname != rec.ID[:12] || string(hostname) != rec.ID[:12]+"\n" || !strings.HasPrefix(string(hosts), "127.0.0.1\tlocalhost\n") {
		t.Fatalf("hostname %q, files %q %q", spec.Hostname, hostname, hosts)
	}

	if err := os.WriteFile(filepath.Join(root, "bad.json"), []byte(`{"defaultAction":"SCMP_ACT_NOPE"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		svc  types.ContainerSpec
		msg  string
	}{
		{"capability", types.ContainerSpec{CapAdd: []string{"CAP_FLY"}}, "unknown capability"},
		{"device cgroup rule", types.ContainerSpec{DeviceCgroupRules: []string{"z 1:1 r"}}, "device cgroup rule"},
		{"ulimit", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"files": {Single: 5}}}, `ulimit "files": unknown`},
		{"nr_open", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nofile": {Single: 1 << 40}}}, "fs.nr_open"},
		{"seccomp profile", types.ContainerSpec{SecurityOpt: []string{"seccomp=bad.json"}}, "bad.json"},
	} {
		svc := svcWith(tt.svc)
		svc.Name = "web"
		_, err := buildSpec(newRec(), svc, img)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), `service "web": `) {
			t.Errorf("%s: err = %v, want one naming %q", tt.name, err, tt.msg)
		}
	}
}

// TestNamespaceContainerRef resolves service:x to the first container of
// that service in the project, and container:name to that container.
func TestNamespaceContainerRef(t *testing.T) {
	root := t.TempDir()
	store := &record.Store{Root: root}
	for _, r := range []*record.Record{
		{ID: "aaa", Name: "p-db-2", Project: "p", Service: "db", Number: 2},
		{ID: "bbb", Name: "p-db-1", Project: "p", Service: "db", Number: 1},
		{ID: "ccc", Name: "q-db-1", Project: "q", Service: "db", Number: 1},
		{ID: "ddd", Name: "p-db-run-1", Project: "p", Service: "db", Number: 0, Labels: map[string]string{record.LabelOneoff: "True"}},
	} {
		r.Dir = store.Dir(r.ID)
		r.Created = time.Now()
		if err := os.MkdirAll(r.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := store.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	for ref, want := range map[string]string{"service:db": "bbb", "container:q-db-1": "ccc", "container:p-db-2": "aaa", "container:ddd": "ddd"} {
		dir, err := containerDir(store.ContainersDir(), "p", ref)
		if err != nil || filepath.Base(dir) != want {
			t.Errorf("%s -> %s, %v; want %s", ref, dir, err, want)
		}
	}
	if _, err := containerDir(store.ContainersDir(), "p", "service:cache"); !errors.Is(err, errdefs.ErrNotFound) || err.Error() != `service "cache" has no container: not found` {
		t.Errorf("missing: %v", err)
	}
}
