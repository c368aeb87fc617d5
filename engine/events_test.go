package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/internal/store/jsonfile"
)

// eventLog collects a state watcher's events as "action id" lines.
type eventLog struct {
	mu      sync.Mutex
	got     []string
	changed chan struct{}
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{}, 1)} }

func (l *eventLog) emit(ev Event) error {
	l.mu.Lock()
	line := ev.Action + " " + ev.ID
	if code, ok := ev.Attributes["exitCode"]; ok {
		line += " " + code
	}
	l.got = append(l.got, line)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until the log holds want, then empties it.
func (l *eventLog) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		got := slices.Clone(l.got)
		l.mu.Unlock()
		if len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("events %q, want %q", got, want)
			}
			l.mu.Lock()
			l.got = l.got[len(want):]
			l.mu.Unlock()
			return
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("events %q, want %q", got, want)
		}
	}
}

// fakeContainer writes what create and a supervisor leave in a
// container's directory.
func fakeContainer(t *testing.T, root, id, project string) string {
	t.Helper()
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := &record.Record{ID: id, Name: project + "-web-1", Project: project, Service: "web", Image: "busybox"}
	if err := jsonfile.Write(filepath.Join(dir, record.File), r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func setState(t *testing.T, dir string, st container.State) {
	t.Helper()
	st.SupervisorPid = os.Getpid() // alive: the state is believed
	if err := jsonfile.Write(filepath.Join(dir, container.StateFileName), st); err != nil {
		t.Fatal(err)
	}
}

// TestStateWatcher: the events of a container's life, from the files its
// create, supervisor, pause and rm leave; other projects' are not told.
func TestStateWatcher(t *testing.T) {
	root := t.TempDir()
	log := newEventLog()
	old := fakeContainer(t, root, "old", "p")
	setState(t, old, container.State{Status: container.StatusRunning, StartedAt: time.Now()})
	w, err := newStateWatcher(root, "p", log.emit)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		w.close()
	}()

	dir := fakeContainer(t, root, "c1", "p")
	log.waitFor(t, "create c1")
	other := fakeContainer(t, root, "x1", "other")
	setState(t, other, container.State{Status: container.StatusRunning, StartedAt: time.Now()})
	if err := os.WriteFile(filepath.Join(root, "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	setState(t, dir, container.State{Status: container.StatusRunning, StartedAt: time.Now()})
	log.waitFor(t, "start c1")
	if err := os.WriteFile(filepath.Join(dir, container.PausedFileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "pause c1")
	if err := os.Remove(filepath.Join(dir, container.PausedFileName)); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "unpause c1")
	// Log lines beside the state tell nothing.
	if err := os.WriteFile(filepath.Join(dir, "c1-json.log"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	setState(t, dir, container.State{Status: container.StatusExited, ExitCode: 3})
	log.waitFor(t, "die c1 3")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "destroy c1")
	if err := os.RemoveAll(old); err != nil { // running when removed: it died first
		t.Fatal(err)
	}
	log.waitFor(t, "die old", "destroy old")
	if err := os.RemoveAll(other); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	log.waitFor(t)
}

// TestStateWatcherResync: after lost events (the kernel's queue
// overflowed) a resync reports what changed meanwhile.
func TestStateWatcherResync(t *testing.T) {
	root := t.TempDir()
	log := newEventLog()
	gone := fakeContainer(t, root, "gone", "p")
	setState(t, gone, container.State{Status: container.StatusExited})
	paused := fakeContainer(t, root, "paused", "p")
	setState(t, paused, container.State{Status: container.StatusRunning, StartedAt: time.Now()})
	w, err := newStateWatcher(root, "p", log.emit)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()

	// Changes nobody reads events of.
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(paused, container.PausedFileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	added := fakeContainer(t, root, "added", "p")
	setState(t, added, container.State{Status: container.StatusRunning, StartedAt: time.Now()})

	if err := w.resync(); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	got := slices.Clone(log.got)
	log.mu.Unlock()
	slices.Sort(got)
	if want := []string{"create added", "destroy gone", "pause paused", "start added"}; !slices.Equal(got, want) {
		t.Errorf("after a resync: %s, want %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}
