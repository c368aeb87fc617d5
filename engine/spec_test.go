package engine

import (
	"errors"
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

func TestCommandLine(t *testing.T) {
	img := v1.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"serve", "-v"}}
	cases := []struct {
		name string
		svc  types.ServiceConfig
		cfg  v1.Config
		want []string
	}{
		{"image defaults", types.ServiceConfig{}, img, []string{"/entry", "serve", "-v"}},
		{"command replaces cmd", svcWith(types.ContainerSpec{Command: []string{"run"}}), img, []string{"/entry", "run"}},
		{"entrypoint drops image cmd", svcWith(types.ContainerSpec{Entrypoint: []string{"sh"}}), img, []string{"sh"}},
		{"both overridden", svcWith(types.ContainerSpec{Entrypoint: []string{"sh", "-c"}, Command: []string{"echo hi"}}), img, []string{"sh", "-c", "echo hi"}},
		{"cmd only image", types.ServiceConfig{}, v1.Config{Cmd: []string{"sh"}}, []string{"sh"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := commandLine(tc.svc, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	_, err := commandLine(types.ServiceConfig{Name: "x"}, v1.Config{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("no command: want ErrInvalidArgument, got %v", err)
	}
}

func TestEnvironment(t *testing.T) {
	v := func(s string) *string { return &s }
	svc := svcWith(types.ContainerSpec{Environment: types.MappingWithEquals{"B": v("svc"), "C": v("c"), "UNSET": nil}})
	cfg := v1.Config{Env: []string{"PATH=/bin", "A=image", "B=image"}}
	got := environment(svc, cfg, "host1")
	want := []string{"PATH=/bin", "HOSTNAME=host1", "A=image", "B=svc", "C=c"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

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
