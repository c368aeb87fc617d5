package status

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/logs"
	"github.com/composer-dev/compose/logs/jsonfile"
)

// logProject is a project whose containers have logs and states on disk.
type logProject struct {
	t    *testing.T
	root string
	r    *Reporter
	recs *fakeRecords
}

func newLogProject(t *testing.T) *logProject {
	root := t.TempDir()
	recs := &fakeRecords{dir: root}
	return &logProject{t: t, root: root, recs: recs, r: &Reporter{Records: recs, Runtime: &fakeRuntime{}}}
}

// add makes a container of service with the given log lines and state.
func (p *logProject) add(service string, st supervisor.State, lines ...string) *record.Record {
	p.t.Helper()
	id := service + "0123"
	rec := &record.Record{ID: id, Name: "p-" + service + "-1", Project: "p", Service: service, Number: 1, Dir: filepath.Join(p.root, id)}
	if err := os.Mkdir(rec.Dir, 0o700); err != nil {
		p.t.Fatal(err)
	}
	p.log(rec, lines...)
	setState(p.t, rec.Dir, st)
	p.recs.recs = append(p.recs.recs, rec)
	return rec
}

// log appends lines to rec's log file, as its supervisor writes them.
func (p *logProject) log(rec *record.Record, lines ...string) {
	p.t.Helper()
	f, err := os.OpenFile(rec.LogPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	for i, l := range lines {
		b, _ := json.Marshal(jsonfile.Record{Log: l + "\n", Stream: "stdout", Time: now.Add(time.Duration(i) * time.Second)})
		if _, err := f.Write(append(b, '\n')); err != nil {
			p.t.Fatal(err)
		}
	}
}

// sortedLines sorts the lines of out: containers' lines interleave.
func sortedLines(out string) []string {
	l := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	slices.Sort(l)
	return l
}

func TestLogs(t *testing.T) {
	p := newLogProject(t)
	p.add("web", supervisor.State{Status: supervisor.StatusExited}, "hello", "bye")
	p.add("db", supervisor.State{Status: supervisor.StatusExited, ExitCode: 1}, "db up")
	for _, follow := range []bool{false, true} {
		var out bytes.Buffer
		if err := p.r.Logs(t.Context(), "p", LogsOptions{Follow: follow, Tail: -1, NoColor: true, Out: &out}); err != nil {
			t.Fatal(err)
		}
		want := []string{"db-1   | db up", "web-1  | bye", "web-1  | hello"}
		if got := sortedLines(out.String()); !slices.Equal(got, want) {
			t.Errorf("logs (follow %v):\n%s\nwant %q", follow, out.String(), want)
		}
	}
	var out bytes.Buffer
	if err := p.r.Logs(t.Context(), "p", LogsOptions{Services: []string{"web"}, Tail: 1, NoLogPrefix: true, NoColor: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "bye\n" {
		t.Errorf("logs --tail 1 --no-log-prefix web = %q", out.String())
	}
}

// TestFollowExits: a follower reports each exit, a restart's as not final,
// after the container's lines, and waits for the project's lock before it
// ends.
func TestFollowExits(t *testing.T) {
	p := newLogProject(t)
	web := p.add("web", supervisor.State{Status: supervisor.StatusRestarting, ExitCode: 2, SupervisorPid: 1}, "first run")
	p.add("db", supervisor.State{Status: supervisor.StatusExited, ExitCode: 1}, "db up")
	var waited atomic.Int32
	p.r.WaitUnlocked = func(ctx context.Context, project string) error {
		if project != "p" {
			t.Errorf("WaitUnlocked(%q)", project)
		}
		waited.Add(1)
		return nil
	}
	var out syncBuffer
	exits := make(chan Exit)
	done := make(chan error, 1)
	go func() {
		done <- p.r.Follow(t.Context(), FollowOptions{
			Project: "p", Include: func(*record.Record) bool { return true },
			Print:   func(r *record.Record) bool { return r.Service == "web" },
			Printer: logs.NewPrinter(&out, logs.PrinterOptions{Prefix: true}), Read: logs.ReadOptions{Tail: -1, Follow: true},
			Exits: exits,
		})
	}()
	var got []string
	for len(got) < 3 {
		select {
		case ev := <-exits:
			got = append(got, ev.Record.Service+" "+strconv.Itoa(ev.Code)+" "+strconv.FormatBool(ev.Final))
			if ev.Record == web && !ev.Final { // it restarts, prints and exits for good
				setState(t, web.Dir, supervisor.State{Status: supervisor.StatusRunning, SupervisorPid: 1})
				p.log(web, "second run")
				setState(t, web.Dir, supervisor.State{Status: supervisor.StatusExited, ExitCode: 0})
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("exits %q", got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"db 1 true", "web 0 true", "web 2 false"}; !slices.Equal(got, want) {
		t.Errorf("exits %q, want %q", got, want)
	}
	if want := "web-1  | first run\nweb-1  | second run\n"; out.String() != want {
		t.Errorf("printed %q, want %q (db's lines not printed)", out.String(), want)
	}
	if waited.Load() == 0 {
		t.Error("the follower ended without waiting for the project's lock")
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
