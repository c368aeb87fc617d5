package engine

import (
	"errors"
	"syscall"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
		err  error
	}{
		{"SIGUSR1", syscall.SIGUSR1, nil},
		{"usr1", syscall.SIGUSR1, nil},
		{"KILL", syscall.SIGKILL, nil},
		{"15", syscall.SIGTERM, nil},
		{"0", 0, errdefs.ErrInvalidArgument},
		{"SIGNOPE", 0, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) && (err != nil || tt.err != nil) {
			t.Errorf("parseSignal(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSplitCpArg(t *testing.T) {
	tests := []struct {
		in, service, path string
		inContainer       bool
	}{
		{"web:/etc/hosts", "web", "/etc/hosts", true},
		{"/tmp/x", "", "/tmp/x", false},
		{"./a:b", "", "./a:b", false},
		{"dir/a:b", "", "dir/a:b", false},
		{"file", "", "file", false},
		{":x", "", ":x", false},
	}
	for _, tt := range tests {
		s, p, in := splitCpArg(tt.in)
		if s != tt.service || p != tt.path || in != tt.inContainer {
			t.Errorf("splitCpArg(%q) = %q, %q, %v", tt.in, s, p, in)
		}
	}
}

func TestRunVolumes(t *testing.T) {
	tests := []struct {
		in   string
		want types.ServiceVolumeConfig
		err  error
	}{
		{"/srv:/data", types.ServiceVolumeConfig{Type: "bind", Source: "/srv", Target: "/data"}, nil},
		{"/srv:/data:ro", types.ServiceVolumeConfig{Type: "bind", Source: "/srv", Target: "/data", ReadOnly: true}, nil},
		{"./sub:/data:rw", types.ServiceVolumeConfig{Type: "bind", Source: "/proj/sub", Target: "/data"}, nil},
		{"named:/data", types.ServiceVolumeConfig{Type: "volume", Source: "named", Target: "/data"}, nil},
		{"/data", types.ServiceVolumeConfig{Type: "volume", Target: "/data"}, nil},
		{"/srv:/data:xx", types.ServiceVolumeConfig{}, errdefs.ErrInvalidArgument},
		{"/srv:rel", types.ServiceVolumeConfig{}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := runVolumes("/proj", nil, []string{tt.in})
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("runVolumes(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].Type != tt.want.Type || got[0].Source != tt.want.Source || got[0].Target != tt.want.Target || got[0].ReadOnly != tt.want.ReadOnly {
			t.Errorf("runVolumes(%q) = %+v, %v", tt.in, got, err)
		}
	}
	// A -v replaces the service's volume at the same target.
	got, err := runVolumes("/proj", []types.ServiceVolumeConfig{{Type: "volume", Source: "a", Target: "/data"}}, []string{"bvol:/data"})
	if err != nil || len(got) != 1 || got[0].Source != "bvol" {
		t.Errorf("runVolumes override = %+v, %v", got, err)
	}
}

func TestKeyValuesAndEnv(t *testing.T) {
	if _, err := keyValues([]string{"novalue"}, "--label"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("keyValues without '=': %v", err)
	}
	t.Setenv("COMPOSE_TEST_FROM_ENV", "yes")
	got := resolveEnv([]string{"A=1", "COMPOSE_TEST_FROM_ENV", "COMPOSE_TEST_UNSET_XYZ"})
	if len(got) != 2 || got[0] != "A=1" || got[1] != "COMPOSE_TEST_FROM_ENV=yes" {
		t.Errorf("resolveEnv = %q", got)
	}
}
