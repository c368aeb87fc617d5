package specgen

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

func svcWith(c types.ContainerSpec) types.ServiceConfig {
	return types.ServiceConfig{Name: "web", ContainerSpec: c}
}

// Docker's daemon merges the image's command line into the container's
// (moby daemon/commit.go merge):
//
//	if len(userConf.Entrypoint) == 0 {
//		if len(userConf.Cmd) == 0 { userConf.Cmd = imageConf.Cmd }
//		if userConf.Entrypoint == nil { userConf.Entrypoint = imageConf.Entrypoint }
//	}
//
// and Docker Compose passes `command: ""` (shellwords: []) and `entrypoint:
// ""` as empty, non-nil lists (pkg/compose/create.go getCreateConfigs).
func TestCommandLine(t *testing.T) {
	img := v1.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"serve", "-v"}}
	tests := []struct {
		name string
		svc  types.ServiceConfig
		img  v1.Config
		want []string // nil: no command, an error
	}{
		{"image defaults", svcWith(types.ContainerSpec{}), img, []string{"/entry", "serve", "-v"}},
		{"command replaces cmd", svcWith(types.ContainerSpec{Command: []string{"run"}}), img, []string{"/entry", "run"}},
		{"entrypoint drops image cmd", svcWith(types.ContainerSpec{Entrypoint: []string{"sh"}}), img, []string{"sh"}},
		{"both overridden", svcWith(types.ContainerSpec{Entrypoint: []string{"sh", "-c"}, Command: []string{"echo hi"}}), img, []string{"sh", "-c", "echo hi"}},
		{"empty entrypoint keeps service command", svcWith(types.ContainerSpec{Entrypoint: []string{}, Command: []string{"ls"}}), img, []string{"ls"}},
		{"empty command keeps image cmd", svcWith(types.ContainerSpec{Command: []string{}}), img, []string{"/entry", "serve", "-v"}},
		{"empty command with an entrypoint stays empty", svcWith(types.ContainerSpec{Entrypoint: []string{"sh"}, Command: []string{}}), img, []string{"sh"}},
		{"cmd only image", svcWith(types.ContainerSpec{}), v1.Config{Cmd: []string{"sh"}}, []string{"sh"}},
		{"entrypoint only image", svcWith(types.ContainerSpec{}), v1.Config{Entrypoint: []string{"/init"}}, []string{"/init"}},
		{"command without image", svcWith(types.ContainerSpec{Command: []string{"true"}}), v1.Config{}, []string{"true"}},
		{"nothing", svcWith(types.ContainerSpec{}), v1.Config{}, nil},
		{"empty entrypoint runs the image cmd", svcWith(types.ContainerSpec{Entrypoint: []string{}}), img, []string{"serve", "-v"}},
		{"empty entrypoint and command", svcWith(types.ContainerSpec{Entrypoint: []string{}, Command: []string{}}), v1.Config{Entrypoint: []string{"/e"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := commandLine(tt.svc, tt.img)
			if tt.want == nil {
				if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != `service "web": no command specified: invalid argument` {
					t.Fatalf("err = %v, want no command specified", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// The image's slices are not changed by a merge.
	in := v1.Config{Entrypoint: make([]string, 1, 4), Cmd: []string{"x"}}
	in.Entrypoint[0] = "/e"
	if _, err := commandLine(svcWith(types.ContainerSpec{Command: []string{"y"}}), in); err != nil || in.Entrypoint[:2][1] != "" {
		t.Fatalf("image entrypoint changed: %q", in.Entrypoint[:2])
	}
}

func TestEnvironment(t *testing.T) {
	v := func(s string) *string { return &s }
	tests := []struct {
		name string
		env  types.MappingWithEquals
		img  []string
		want []string
	}{
		{"defaults", nil, nil, []string{defaultPath, "HOSTNAME=host1"}},
		{"image PATH replaces the default in place", nil, []string{"PATH=/bin", "A=image"}, []string{"PATH=/bin", "HOSTNAME=host1", "A=image"}},
		{"service over image", types.MappingWithEquals{"B": v("svc"), "C": v("c")}, []string{"A=image", "B=image"},
			[]string{defaultPath, "HOSTNAME=host1", "A=image", "B=svc", "C=c"}},
		// Docker Compose sends an unset `environment: [B]` as "B"; the daemon
		// drops B, the image's value too (moby ReplaceOrAppendEnvValues:
		// "Values w/o = means they want this env to be removed/unset").
		{"unset keys remove the image's", types.MappingWithEquals{"UNSET": nil, "B": nil}, []string{"B=image", "C=image"}, []string{defaultPath, "HOSTNAME=host1", "C=image"}},
		{"service keys sorted", types.MappingWithEquals{"Z": v("1"), "M": v("2"), "A": v("3")}, nil, []string{defaultPath, "HOSTNAME=host1", "A=3", "M=2", "Z=1"}},
		{"service HOSTNAME and PATH win", types.MappingWithEquals{"HOSTNAME": v("mine"), "PATH": v("/opt")}, []string{"PATH=/bin"}, []string{"PATH=/opt", "HOSTNAME=mine"}},
		{"image HOSTNAME wins over the default", nil, []string{"HOSTNAME=img"}, []string{defaultPath, "HOSTNAME=img"}},
		{"empty value", types.MappingWithEquals{"E": v("")}, nil, []string{defaultPath, "HOSTNAME=host1", "E="}},
		{"value with =", types.MappingWithEquals{"Q": v("a=b")}, []string{"Q=x=y"}, []string{defaultPath, "HOSTNAME=host1", "Q=a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := environment(svcWith(types.ContainerSpec{Environment: tt.env}), v1.Config{Env: tt.img}, "host1")
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testInput() Input {
	return Input{ID: testID, Name: "p-web-1", Dir: "/c/" + testID, Labels: map[string]string{"a": "b"}, Layers: []string{"/l/1", "/l/2"}, Runtime: testRuntime()}
}

func TestBuild(t *testing.T) {
	img := v1.Config{Cmd: []string{"sh"}, WorkingDir: "/app", User: "1000", StopSignal: "SIGQUIT", Env: []string{"A=1"}}
	spec, warnings, err := Build(svcWith(types.ContainerSpec{}), img, testInput())
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	want := runspec.Spec{
		ID: testID, Name: "p-web-1", Dir: "/c/" + testID, Args: []string{"sh"},
		Env: []string{defaultPath, "HOSTNAME=0123456789ab", "A=1"}, Cwd: "/app", User: "1000", Hostname: "0123456789ab",
		Lower: []string{"/l/1", "/l/2"}, Labels: map[string]string{"a": "b"}, StopSignal: "SIGQUIT",
		Mounts: []runspec.Mount{
			{Source: "/c/" + testID + "/hostname", Destination: "/etc/hostname"},
			{Source: "/c/" + testID + "/hosts", Destination: "/etc/hosts"},
			{Source: "/c/" + testID + "/resolv.conf", Destination: "/etc/resolv.conf"},
		},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("spec\n%+v\nwant\n%+v", spec, want)
	}

	svc := svcWith(types.ContainerSpec{Hostname: "box", WorkingDir: "/srv", User: "nobody", StopSignal: "SIGINT"})
	svc.Restart = "on-failure:3"
	svc.StdinOpen, svc.Tty = true, true
	spec, _, err = Build(svc, img, testInput())
	if err != nil {
		t.Fatal(err)
	}
	if spec.Hostname != "box" || spec.Env[1] != "HOSTNAME=box" || spec.Cwd != "/srv" || spec.User != "nobody" || spec.StopSignal != "SIGINT" ||
		spec.Restart != (runspec.RestartPolicy{Name: "on-failure", MaxRetries: 3}) || !spec.Options.OpenStdin || !spec.Options.Tty {
		t.Fatalf("service values: %+v", spec)
	}
}

// TestBuildErrors: each step's error names the service, on one line, and
// the warnings found before it still come back.
func TestBuildErrors(t *testing.T) {
	img := v1.Config{Cmd: []string{"sh"}}
	tests := []struct {
		name     string
		svc      types.ServiceConfig
		img      v1.Config
		class    error
		msg      string
		warnings int
	}{
		{"no command", svcWith(types.ContainerSpec{}), v1.Config{}, errdefs.ErrInvalidArgument, `service "web": no command specified`, 0},
		{"option", svcWith(types.ContainerSpec{BlkioConfig: &types.BlkioConfig{}, CapAdd: []string{"FLY"}}), img, errdefs.ErrInvalidArgument, `service "web": unknown capability: "FLY"`, 1},
		{"peer", svcWith(types.ContainerSpec{Pid: "container:db"}), img, errdefs.ErrNotFound, `service "web": pid: container "db" has no container`, 0},
		{"restart", func() types.ServiceConfig {
			s := svcWith(types.ContainerSpec{CPUCount: 1})
			s.Restart = "sometimes"
			return s
		}(), img, errdefs.ErrInvalidArgument, `service "web": restart "sometimes"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := Build(tt.svc, tt.img, testInput())
			if !errors.Is(err, tt.class) || !strings.HasPrefix(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want %v starting %q", err, tt.class, tt.msg)
			}
			if len(warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", warnings, tt.warnings)
			}
		})
	}
}
