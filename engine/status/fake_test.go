package status

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store/jsonfile"
	"github.com/composer-dev/compose/networks"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) {
	time.Local = time.UTC // CreatedAt and STIME in the golden files
	os.Exit(m.Run())
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

// now is the fake clock of the reports.
var now = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// fakeRecords is a fixed set of records in dir.
type fakeRecords struct {
	dir  string
	recs []*record.Record
}

func (f *fakeRecords) List(project string) ([]*record.Record, error) {
	var out []*record.Record
	for _, r := range f.recs {
		if project == "" || r.Project == project {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeRecords) ContainersDir() string { return f.dir }

// fakeRuntime answers from maps by container directory; a state it does
// not hold is read from the directory's state file, as a supervisor
// leaves it.
type fakeRuntime struct {
	states map[string]supervisor.State
	paused map[string]bool
	stats  map[string]Sample
	procs  map[string][]Process
}

func (f *fakeRuntime) State(dir string) (supervisor.State, error) {
	if st, ok := f.states[dir]; ok {
		return st, nil
	}
	var st supervisor.State
	err := jsonfile.Read(filepath.Join(dir, supervisor.StateFile), &st)
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("state of %s: %w", dir, errdefs.ErrNotFound)
	}
	return st, err
}

func (f *fakeRuntime) Paused(dir string, pid int) bool { return f.paused[dir] }

// WaitFor and WaitDir poll: the follower's logic is under test, not inotify.
func (f *fakeRuntime) WaitFor(ctx context.Context, dir string, done func(supervisor.State) bool) (supervisor.State, error) {
	var st supervisor.State
	var err error
	werr := f.WaitDir(ctx, dir, func() bool {
		st, err = f.State(dir)
		return err != nil || done(st)
	})
	if err == nil {
		err = werr
	}
	return st, err
}

func (f *fakeRuntime) WaitDir(ctx context.Context, dir string, check func() bool) error {
	for !check() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func (f *fakeRuntime) Stats(ctx context.Context, dir string) (Sample, error) {
	if s, ok := f.stats[dir]; ok {
		return s, nil
	}
	return Sample{}, fmt.Errorf("container %s: %w", dir, errdefs.ErrFailedPrecondition)
}

func (f *fakeRuntime) Processes(ctx context.Context, dir string) ([]Process, error) {
	if p, ok := f.procs[dir]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("container %s: %w", dir, errdefs.ErrFailedPrecondition)
}

// fixture is a host with two projects: p (web-1 running with a port and
// a healthcheck, web-2 paused, db-1 exited, job-1 created, a one-off run
// container) and q (api-1 running).
func fixture() (*Reporter, *fakeRuntime) {
	rec := func(project, service string, n int, id string, created time.Duration) *record.Record {
		return &record.Record{
			ID: id + strings.Repeat("0123456789abcdef", 4)[2:], Name: fmt.Sprintf("%s-%s-%d", project, service, n),
			Project: project, Service: service, Number: n, Image: "busybox", ImageID: "sha256:" + strings.Repeat(id, 32),
			Command: []string{"sh", "-c", "sleep 600 && echo done with a long command"},
			Labels: map[string]string{
				record.LabelProject: project, record.LabelService: service,
				record.LabelConfigFiles: "/srv/" + project + "/compose.yaml",
			},
			Created:  now.Add(-created),
			Networks: []record.Attachment{{Network: project + "_default"}},
			Dir:      "/c/" + id,
		}
	}
	web1 := rec("p", "web", 1, "a1", 2*time.Minute)
	web1.Ports = []networks.PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"}}
	web2 := rec("p", "web", 2, "a2", 2*time.Minute)
	db := rec("p", "db", 1, "b1", time.Hour)
	db.Image = "postgres:16"
	job := rec("p", "job", 1, "c1", 3*time.Second)
	run := rec("p", "web", 3, "d1", 10*time.Second)
	run.Name = "p-web-run-0123"
	run.Labels[record.LabelOneoff] = "True"
	api := rec("q", "api", 1, "e1", 48*time.Hour)
	records := &fakeRecords{dir: "/c", recs: []*record.Record{db, job, web1, web2, run, api}}
	rt := &fakeRuntime{
		states: map[string]supervisor.State{
			web1.Dir: {Status: supervisor.StatusRunning, Pid: 10, StartedAt: now.Add(-90 * time.Second), SupervisorPid: 9,
				Health: &supervisor.Health{Status: supervisor.HealthHealthy}},
			web2.Dir: {Status: supervisor.StatusRunning, Pid: 20, StartedAt: now.Add(-time.Minute), SupervisorPid: 19},
			db.Dir:   {Status: supervisor.StatusExited, ExitCode: 1, StartedAt: now.Add(-50 * time.Minute), FinishedAt: now.Add(-45 * time.Minute)},
			run.Dir:  {Status: supervisor.StatusExited, StartedAt: now.Add(-9 * time.Second), FinishedAt: now.Add(-8 * time.Second)},
			api.Dir:  {Status: supervisor.StatusRunning, Pid: 30, StartedAt: now.Add(-47 * time.Hour), SupervisorPid: 29},
		},
		paused: map[string]bool{web2.Dir: true},
	}
	return &Reporter{Records: records, Runtime: rt, Now: func() time.Time { return now }}, rt
}

// byName finds the record named name.
func (r *Reporter) byName(t *testing.T, name string) *record.Record {
	t.Helper()
	recs, _ := r.Records.List("")
	i := slices.IndexFunc(recs, func(r *record.Record) bool { return r.Name == name })
	if i < 0 {
		t.Fatalf("no record %s", name)
	}
	return recs[i]
}
