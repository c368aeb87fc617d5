package status

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

func TestPsRows(t *testing.T) {
	r, _ := fixture()
	names := func(opts PsOptions) []string {
		t.Helper()
		rows, err := r.Ps(t.Context(), "p", opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range rows {
			out = append(out, s.Name+" "+s.State)
		}
		return out
	}
	tests := []struct {
		opts PsOptions
		want []string
	}{
		{PsOptions{}, []string{"p-web-1 running", "p-web-2 paused"}},
		{PsOptions{All: true}, []string{"p-db-1 exited", "p-job-1 created", "p-web-1 running", "p-web-2 paused", "p-web-run-0123 exited"}},
		{PsOptions{Status: []string{"exited"}}, []string{"p-db-1 exited", "p-web-run-0123 exited"}},
		{PsOptions{Filters: []string{"status=paused"}}, []string{"p-web-2 paused"}},
		{PsOptions{All: true, Services: []string{"db", "job"}}, []string{"p-db-1 exited", "p-job-1 created"}},
		{PsOptions{All: true, Known: []string{"web"}, Orphans: false}, []string{"p-web-1 running", "p-web-2 paused", "p-web-run-0123 exited"}},
		{PsOptions{All: true, Known: []string{"web"}, Orphans: true}, []string{"p-db-1 exited", "p-job-1 created", "p-web-1 running", "p-web-2 paused", "p-web-run-0123 exited"}},
	}
	for _, tt := range tests {
		if got := names(tt.opts); !slices.Equal(got, tt.want) {
			t.Errorf("Ps(%+v) = %q, want %q", tt.opts, got, tt.want)
		}
	}
}

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
	r, _ := fixture()
	if _, err := r.Ps(t.Context(), "p", PsOptions{Status: []string{"sleeping"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Ps with a bad --status: %v", err)
	}
}

// TestPsPrint: the rows of ps in each of its output forms.
func TestPsPrint(t *testing.T) {
	r, _ := fixture()
	rows, err := r.Ps(t.Context(), "p", PsOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, tt := range []struct {
		flags string
		opts  PsOptions
	}{
		{"", PsOptions{}},
		{"--format json", PsOptions{Format: "json"}},
		{"--format table ID...", PsOptions{Format: `table {{.ID}}\t{{.Command}}\t{{.State}}\t{{.Health}}\t{{.ExitCode}}`}},
		{"--format ID --no-trunc", PsOptions{Format: `{{.ID}} {{.Command}}`, NoTrunc: true}},
		{"--format table Names...", PsOptions{Format: `table {{.Names}}\t{{.Project}}\t{{.CreatedAt}}\t{{.Networks}}\t{{.Labels}}\t{{.LocalVolumes}}\t{{.Mounts}}\t{{.Size}}\t{{.Publishers}}`}},
		{"-q", PsOptions{Quiet: true}},
		{"--services", PsOptions{ServicesOnly: true}},
	} {
		var out bytes.Buffer
		if err := PrintPs(&out, rows, tt.opts); err != nil {
			t.Fatalf("%s: %v", tt.flags, err)
		}
		all.WriteString("== ps -a " + tt.flags + "\n" + out.String())
	}
	var out bytes.Buffer
	if err := PrintPs(&out, nil, PsOptions{ServicesOnly: true}); err != nil || out.String() != "\n" {
		t.Errorf("ps --services without containers: %q, %v; want an empty line, as Compose prints", out.String(), err)
	}
	if err := PrintPs(&out, rows, PsOptions{Quiet: true, Format: "{{.Nope"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ps -q with a bad --format: %v", err)
	}
	golden(t, "ps", all.String())
}

func TestStatusText(t *testing.T) {
	started := now.Add(-5 * time.Second)
	tests := []struct {
		st   supervisor.State
		want string
	}{
		{supervisor.State{Status: supervisor.StatusRunning, StartedAt: started}, "Up 5 seconds"},
		{supervisor.State{Status: supervisor.StatusRunning, StartedAt: started, Health: &supervisor.Health{Status: "starting"}}, "Up 5 seconds (health: starting)"},
		{supervisor.State{Status: supervisor.StatusRunning, StartedAt: started, Health: &supervisor.Health{Status: "healthy"}}, "Up 5 seconds (healthy)"},
		{supervisor.State{Status: supervisor.StatusRunning, StartedAt: started, Health: &supervisor.Health{Status: "unhealthy"}}, "Up 5 seconds (unhealthy)"},
		{supervisor.State{Status: supervisor.StatusRestarting, ExitCode: 1, FinishedAt: started}, "Restarting (1) 5 seconds ago"},
		{supervisor.State{Status: supervisor.StatusExited, ExitCode: 137, FinishedAt: started, Health: &supervisor.Health{Status: "healthy"}}, "Exited (137) 5 seconds ago"},
		{supervisor.State{Status: statusPaused, StartedAt: started}, "Up 5 seconds (Paused)"},
		{supervisor.State{Status: supervisor.StatusCreated}, "Created"},
	}
	for _, tt := range tests {
		if got := statusText(tt.st, now); got != tt.want {
			t.Errorf("statusText(%+v) = %q, want %q", tt.st, got, tt.want)
		}
	}
}

// TestPorts: the PORTS column as the docker CLI's DisplayablePorts writes
// it from Compose's publishers, and Publishers ordered by container port
// (pkg/compose/ps.go). An exposed port that is not published is "80/tcp",
// {"URL":"","TargetPort":80,"PublishedPort":0,"Protocol":"tcp"}.
func TestPorts(t *testing.T) {
	r := &record.Record{
		Ports: []networks.PortMapping{
			{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
			{HostIP: "127.0.0.1", HostPort: 9000, ContainerPort: 9000, Protocol: "tcp"},
			{HostPort: 9001, ContainerPort: 9001, Protocol: "tcp"},
			{HostPort: 9002, ContainerPort: 9002, Protocol: "tcp"},
		},
		Exposed: []string{"53/udp", "80/tcp", "3000/tcp", "3001/tcp", "3003/tcp", "9000/tcp"},
	}
	ports := containerPorts(r)
	// Docker's order: a range closed by a gap comes first, then the open
	// groups in the order they began, then mappings to other host ports.
	want := "3000-3001/tcp, 53/udp, 3003/tcp, 127.0.0.1:9000->9000/tcp, 0.0.0.0:9001-9002->9001-9002/tcp, 0.0.0.0:8080->80/tcp"
	if got := displayPorts(ports); got != want {
		t.Errorf("PORTS\n got %q\nwant %q", got, want)
	}
	pubs := publishers(ports)
	if pubs[0] != (PortPublisher{TargetPort: 53, Protocol: "udp"}) || pubs[1] != (PortPublisher{URL: "0.0.0.0", TargetPort: 80, PublishedPort: 8080, Protocol: "tcp"}) {
		t.Errorf("Publishers start %+v", pubs[:2])
	}
	for i := 1; i < len(pubs); i++ {
		if pubs[i].TargetPort < pubs[i-1].TargetPort {
			t.Errorf("Publishers not ordered by TargetPort: %+v", pubs)
		}
	}
	if got := displayPorts(containerPorts(&record.Record{Exposed: []string{"80/tcp"}})); got != "80/tcp" {
		t.Errorf("exposed only: %q", got)
	}
}

func TestTruncateCommand(t *testing.T) {
	for in, want := range map[string]string{
		`"sh -c 'echo hi'"`:                        `"sh -c 'echo hi'"`,
		`"sleep 600 && echo done with a long one"`: `"sleep 600 && echo d…"`,
		"\"printf 'a\nb'\"":                        `"printf 'a\nb'"`,
	} {
		if got := truncateCommand(in); got != want {
			t.Errorf("truncateCommand(%q) = %q, want %q", in, got, want)
		}
	}
}
