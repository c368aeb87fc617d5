package engine

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
)

func TestPsStatusFilter(t *testing.T) {
	tests := []struct {
		opts PsOptions
		want []string
		err  error
	}{
		{PsOptions{}, nil, nil},
		{PsOptions{Status: []string{"running", "exited"}}, []string{"running", "exited"}, nil},
		{PsOptions{Filters: []string{"status=paused"}}, []string{"paused"}, nil},
		{PsOptions{Status: []string{"sleeping"}}, nil, errdefs.ErrInvalidArgument},
		{PsOptions{Filters: []string{"name=web"}}, nil, errdefs.ErrInvalidArgument},
		{PsOptions{Filters: []string{"status"}}, nil, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := psStatusFilter(tt.opts)
		if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("psStatusFilter(%+v) = %v, %v; want %v, %v", tt.opts, got, err, tt.want, tt.err)
		}
	}
}

func TestRowFormat(t *testing.T) {
	rows := []any{map[string]any{"Name": "p-web-1", "State": "running"}, map[string]any{"Name": "p-db-1", "State": "exited"}}
	header := map[string]any{"Name": "NAME", "State": "STATE"}
	tests := []struct{ format, want string }{
		{"{{.Name}}", "p-web-1\np-db-1\n"},
		{"table {{.Name}}\t{{.State}}", "NAME      STATE\np-web-1   running\np-db-1    exited\n"},
		{"", "NAME      STATE\np-web-1   running\np-db-1    exited\n"},
		{"{{.Name | upper}} {{json .State}}", "P-WEB-1 \"running\"\nP-DB-1 \"exited\"\n"},
		{"json", "{\"n\":1}\n{\"n\":2}\n"},
	}
	for _, tt := range tests {
		f, err := parseRowFormat(tt.format, "table {{.Name}}\t{{.State}}", header)
		if err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		var out bytes.Buffer
		if err := f.write(&out, rows, []any{map[string]int{"n": 1}, map[string]int{"n": 2}}); err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		if out.String() != tt.want {
			t.Errorf("format %q:\n%s\nwant:\n%s", tt.format, out.String(), tt.want)
		}
	}
	if _, err := parseRowFormat("{{.Name", "", nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad template: %v", err)
	}
	f, _ := parseRowFormat("{{.Name.Nope}}", "", nil)
	if err := f.write(&bytes.Buffer{}, []any{map[string]any{"Name": 1}}, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("template that fails on a row: %v", err)
	}
}

func TestCombinedStatus(t *testing.T) {
	if got := combinedStatus(map[string]int{"running": 2, "exited": 1}); got != "exited(1), running(2)" {
		t.Errorf("combinedStatus = %q", got)
	}
}

func TestEventString(t *testing.T) {
	ev := Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC), Action: "die", ID: "abc",
		Attributes: map[string]string{"name": "p-web-1", "image": "busybox", "exitCode": "0"}}
	want := "2026-01-02 03:04:05.678901 container die abc (exitCode=0, image=busybox, name=p-web-1)"
	if got := ev.String(); got != want {
		t.Errorf("Event.String() = %q, want %q", got, want)
	}
}

func TestDefaultImageName(t *testing.T) {
	if got := defaultImageName("myproj", "Web"); got != "myproj-web" {
		t.Errorf("defaultImageName = %q", got)
	}
}

func TestParseEventTime(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 500000000, time.UTC)
	for _, v := range []string{"2026-01-02T03:04:05.5Z", "1767323045.5"} {
		got, err := ParseEventTime(v)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseEventTime(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := ParseEventTime("tomorrow"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ParseEventTime(tomorrow): %v", err)
	}
}

func TestStatusTextHealth(t *testing.T) {
	now := time.Now()
	started := now.Add(-5 * time.Second)
	tests := []struct {
		st   container.State
		want string
	}{
		{container.State{Status: container.StatusRunning, StartedAt: started}, "Up 5 seconds"},
		{container.State{Status: container.StatusRunning, StartedAt: started, Health: &container.Health{Status: "starting"}}, "Up 5 seconds (health: starting)"},
		{container.State{Status: container.StatusRunning, StartedAt: started, Health: &container.Health{Status: "healthy"}}, "Up 5 seconds (healthy)"},
		{container.State{Status: container.StatusRunning, StartedAt: started, Health: &container.Health{Status: "unhealthy"}}, "Up 5 seconds (unhealthy)"},
		{container.State{Status: container.StatusRestarting, ExitCode: 1, FinishedAt: started}, "Restarting (1) 5 seconds ago"},
		{container.State{Status: container.StatusExited, ExitCode: 137, FinishedAt: started, Health: &container.Health{Status: "healthy"}}, "Exited (137) 5 seconds ago"},
	}
	for _, tt := range tests {
		if got := statusText(tt.st, now); got != tt.want {
			t.Errorf("statusText(%+v) = %q, want %q", tt.st, got, tt.want)
		}
	}
}
