package engine

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
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

func TestTopColumns(t *testing.T) {
	if got := ttyName(136<<8 | 3); got != "pts/3" {
		t.Errorf("ttyName(pts 3) = %q", got)
	}
	if got := ttyName(0); got != "?" {
		t.Errorf("ttyName(0) = %q", got)
	}
	if got := cpuTime(3723 * time.Second); got != "01:02:03" {
		t.Errorf("cpuTime = %q", got)
	}
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.Local)
	if got := stime(now.Add(-time.Hour), now); got != "11:00" {
		t.Errorf("stime today = %q", got)
	}
	if got := stime(now.AddDate(0, -1, 0), now); got != "Feb04" {
		t.Errorf("stime earlier = %q", got)
	}
}

func TestStatsRow(t *testing.T) {
	r := &record.Record{ID: "0123456789abcdef", Name: "p-web-1"}
	t0 := time.Now()
	prev := container.Stats{Read: t0, CPUTime: 0}
	cur := container.Stats{Read: t0.Add(time.Second), CPUTime: 500 * time.Millisecond, MemoryUsage: 1 << 20, MemoryLimit: 4 << 20, NetRx: 1500, Pids: 3}
	got := statsRow(r, prev, cur)
	if got.CPUPerc != "50.00%" || got.MemUsage != "1MiB / 4MiB" || got.MemPerc != "25.00%" || got.PIDs != "3" || got.ID != "0123456789ab" || got.NetIO != "1.5kB / 0B" {
		t.Errorf("statsRow = %+v", got)
	}
}
