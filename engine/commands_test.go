package engine

import (
	"errors"
	"syscall"
	"testing"

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
