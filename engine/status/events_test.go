package status

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
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

func setState(t *testing.T, dir string, st supervisor.State) {
	t.Helper()
	if err := jsonfile.Write(filepath.Join(dir, supervisor.StateFile), st); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func watchReporter(root string) *Reporter {
	return &Reporter{Records: &fakeRecords{dir: root}, Runtime: &fakeRuntime{}}
}

// TestStateWatcher: the events of a container's life, from the files its
// create, supervisor, pause, stop and rm leave; other projects' are not told.
func TestStateWatcher(t *testing.T) {
	root := t.TempDir()
	log := newEventLog()
	old := fakeContainer(t, root, "old", "p")
	setState(t, old, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now()})
	w, err := watchReporter(root).newStateWatcher("p", log.emit)
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
	setState(t, other, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now()})
	touch(t, filepath.Join(root, "stray-file"))
	setState(t, dir, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now()})
	log.waitFor(t, "start c1")
	touch(t, filepath.Join(dir, supervisor.PausedFile))
	log.waitFor(t, "pause c1")
	if err := os.Remove(filepath.Join(dir, supervisor.PausedFile)); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "unpause c1")
	setState(t, dir, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now(), Health: &supervisor.Health{Status: supervisor.HealthHealthy}})
	log.waitFor(t, "start c1", "health_status: healthy c1")
	// Log lines beside the state tell nothing.
	touch(t, filepath.Join(dir, "c1-json.log"))
	setState(t, dir, supervisor.State{Status: supervisor.StatusExited, ExitCode: 3})
	log.waitFor(t, "die c1 3")
	setState(t, dir, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now()})
	log.waitFor(t, "start c1")
	touch(t, filepath.Join(dir, supervisor.StopFile))
	setState(t, dir, supervisor.State{Status: supervisor.StatusExited, ExitCode: 0})
	log.waitFor(t, "die c1 0", "stop c1")
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
	setState(t, gone, supervisor.State{Status: supervisor.StatusExited})
	paused := fakeContainer(t, root, "paused", "p")
	setState(t, paused, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now()})
	w, err := watchReporter(root).newStateWatcher("p", log.emit)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()

	// Changes nobody reads events of.
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(paused, supervisor.PausedFile))
	added := fakeContainer(t, root, "added", "p")
	setState(t, added, supervisor.State{Status: supervisor.StatusRunning, StartedAt: time.Now()})

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

// TestEvents: the sequence filters by service, ends when the consumer
// stops or --until comes, and fails when there is nothing to watch.
func TestEvents(t *testing.T) {
	root := t.TempDir()
	r := watchReporter(root)
	r.Now = func() time.Time { return now }
	got := make(chan Event)
	go func() {
		defer close(got)
		for ev, err := range r.Events(t.Context(), "p", EventsOptions{Services: []string{"web"}}) {
			if err != nil {
				t.Error(err)
				return
			}
			got <- ev
			return // the consumer stops: no more events are read
		}
	}()
	// Wait for the watch: a container made before it would be no news.
	deadline := time.Now().Add(10 * time.Second)
	var ev Event
	for ok := false; !ok; {
		dir := filepath.Join(root, "c"+time.Now().Format("150405.000000000"))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := jsonfile.Write(filepath.Join(dir, record.File), &record.Record{ID: filepath.Base(dir), Name: "p-web-1", Project: "p", Service: "web", Image: "busybox",
			Labels: map[string]string{"com.docker.compose.service": "web", "owner": "me"}}); err != nil {
			t.Fatal(err)
		}
		select {
		case ev, ok = <-got:
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no event")
			}
		}
	}
	if ev.Action != "create" || ev.Type != "container" || ev.Service != "web" || !ev.Time.Equal(now) ||
		len(ev.Attributes) != 3 || ev.Attributes["owner"] != "me" || ev.Attributes["name"] != "p-web-1" {
		t.Errorf("event %+v", ev)
	}
	if _, ok := <-got; ok {
		t.Error("an event after the consumer stopped")
	}

	start := time.Now()
	for _, err := range r.Events(t.Context(), "p", EventsOptions{Until: time.Now().Add(100 * time.Millisecond)}) {
		t.Errorf("events until soon: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("--until ended the stream after %v", d)
	}
	r.Records = &fakeRecords{dir: filepath.Join(root, "missing")}
	for _, err := range r.Events(t.Context(), "p", EventsOptions{}) {
		if err == nil {
			t.Error("events without a containers directory: no error")
		}
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

func TestPrintEvents(t *testing.T) {
	evs := []Event{
		{Time: now, Type: "container", Action: "create", ID: "abc", Service: "web", Attributes: map[string]string{"name": "p-web-1", "image": "busybox"}},
		{Time: now.Add(time.Second), Type: "container", Action: "die", ID: "abc", Service: "web", Attributes: map[string]string{"name": "p-web-1", "image": "busybox", "exitCode": "1"}},
	}
	seq := func(yield func(Event, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	}
	var all strings.Builder
	for _, opts := range []EventsOptions{{}, {JSON: true}} {
		var out bytes.Buffer
		if err := PrintEvents(&out, seq, opts); err != nil {
			t.Fatal(err)
		}
		all.WriteString("== events --json=" + map[bool]string{false: "false", true: "true"}[opts.JSON] + "\n" + out.String())
	}
	golden(t, "events", all.String())

	boom := errors.New("boom")
	var failing iter.Seq2[Event, error] = func(yield func(Event, error) bool) { yield(Event{}, boom) }
	if err := PrintEvents(&bytes.Buffer{}, failing, EventsOptions{}); !errors.Is(err, boom) {
		t.Errorf("PrintEvents of a failing stream: %v", err)
	}
}

func TestParseEventTime(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 500000000, time.UTC)
	for _, v := range []string{"2026-01-02T03:04:05.5Z", "1767323045.5", "2026-01-02T03:04:05.5"} {
		got, err := ParseEventTime(v)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseEventTime(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := ParseEventTime("tomorrow"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ParseEventTime(tomorrow): %v", err)
	}
}
