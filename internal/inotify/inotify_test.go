package inotify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
)

func watch(t *testing.T, dir string) *Watcher {
	t.Helper()
	w, err := Watch(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// next returns the next event that is not a write, within a few seconds.
func next(t *testing.T, w *Watcher) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for an event: %v", err)
		}
		if ev.Op != Write {
			return ev
		}
	}
}

func TestEvents(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	w := watch(t, dir)
	a := filepath.Join(dir, "a")

	if err := os.WriteFile(a, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (Event{a, Create}) {
		t.Errorf("create: %+v", ev)
	}

	f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("more")
	f.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if ev, err := w.Next(ctx); err != nil || ev != (Event{a, Write}) {
		t.Errorf("write: %+v, %v", ev, err)
	}

	in := filepath.Join(outside, "in")
	if err := os.WriteFile(in, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(in, filepath.Join(dir, "in")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (Event{filepath.Join(dir, "in"), Create}) {
		t.Errorf("renamed in: %+v", ev)
	}

	if err := os.Rename(filepath.Join(dir, "in"), filepath.Join(outside, "back")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (Event{filepath.Join(dir, "in"), Rename}) {
		t.Errorf("renamed away: %+v", ev)
	}

	if err := os.Chmod(a, 0o644); err != nil { // metadata only: no event
		t.Fatal(err)
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (Event{a, Remove}) {
		t.Errorf("remove: %+v", ev)
	}

	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (Event{sub, Create}) {
		t.Errorf("mkdir: %+v", ev)
	}
	// Not recursive: nothing from inside sub.
	if err := os.WriteFile(filepath.Join(sub, "deep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Wait(t.Context(), 100*time.Millisecond, nil); changed || err != nil {
		t.Errorf("a change in a subdirectory: %v, %v", changed, err)
	}
}

func TestWaitMatchAndTimeout(t *testing.T) {
	dir := t.TempDir()
	w := watch(t, dir)
	notWrite := func(ev Event) bool { return ev.Op != Write }
	log := filepath.Join(dir, "log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if changed, err := w.Wait(t.Context(), 5*time.Second, nil); !changed || err != nil {
		t.Fatalf("create: %v, %v", changed, err)
	}

	// Writes the match refuses do not wake it: it returns at the bound.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				f.WriteString("line\n")
			}
		}
	}()
	start := time.Now()
	changed, err := w.Wait(t.Context(), 200*time.Millisecond, notWrite)
	if changed || err != nil {
		t.Fatalf("writes woke it: %v, %v", changed, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("returned after %s, before its bound", d)
	}

	// A rename in does, at once.
	go func() {
		time.Sleep(20 * time.Millisecond)
		tmp := filepath.Join(dir, ".state.tmp")
		os.WriteFile(tmp, []byte("{}"), 0o600)
		os.Rename(tmp, filepath.Join(dir, "state.json"))
	}()
	start = time.Now()
	if changed, err := w.Wait(t.Context(), 10*time.Second, func(ev Event) bool { return filepath.Base(ev.Path) == "state.json" }); !changed || err != nil {
		t.Fatalf("rename: %v, %v", changed, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("woke after %s", d)
	}
}

// TestWaitCoalesces: a burst queued before Wait is one wake-up.
func TestWaitCoalesces(t *testing.T) {
	dir := t.TempDir()
	w := watch(t, dir)
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let fsnotify queue them
	if changed, err := w.Wait(t.Context(), time.Second, nil); !changed || err != nil {
		t.Fatalf("burst: %v, %v", changed, err)
	}
	if changed, _ := w.Wait(t.Context(), 50*time.Millisecond, nil); changed {
		t.Error("a second wake-up for the same burst")
	}
}

func TestCancel(t *testing.T) {
	w := watch(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := w.Wait(ctx, 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait: %v", err)
	}
	if _, err := w.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next on an ended context: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
}

func TestDirectoryGone(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := watch(t, dir)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Path != dir || !ev.Has(Remove) {
		t.Errorf("removed: %+v", ev)
	}
	if w.Watching(dir) {
		t.Error("still watching a removed directory")
	}
	// Made again, it can be watched again.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (Event{filepath.Join(dir, "x"), Create}) {
		t.Errorf("after watching again: %+v", ev)
	}

	// Renamed while its parent is watched too: the parent tells, and the
	// watch of the old path ends.
	if err := w.Add(parent); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(parent, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Path != dir || !ev.Has(Rename) {
		t.Errorf("renamed: %+v", ev)
	}
	if w.Watching(dir) || !w.Watching(parent) {
		t.Errorf("watching %s: %v, %s: %v", dir, w.Watching(dir), parent, w.Watching(parent))
	}
	if ev := next(t, w); ev != (Event{moved, Create}) {
		t.Errorf("renamed, in the parent: %+v", ev)
	}
	// Nothing more comes from the renamed directory (its own report of
	// the rename may still come).
	if err := os.WriteFile(filepath.Join(moved, "y"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			break
		}
		if ev.Path != dir {
			t.Errorf("an event from a renamed directory: %+v", ev)
		}
	}

	w.Remove(parent)
	if w.Watching(parent) {
		t.Error("still watching after Remove")
	}
	w.Remove(parent) // again: no error, no panic
}

func TestAddErrors(t *testing.T) {
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(filepath.Join(t.TempDir(), "missing")); !errdefs.IsNotFound(err) {
		t.Errorf("missing directory: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(file); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a file: %v", err)
	}
	if _, err := Watch(filepath.Join(t.TempDir(), "missing")); !errdefs.IsNotFound(err) {
		t.Errorf("Watch of a missing directory: %v", err)
	}
}

// TestCloseReleasesEverything: after Close no descriptor and no goroutine
// is left, and a wait in progress ends with ErrClosed.
func TestCloseReleasesEverything(t *testing.T) {
	fds, goroutines := openFDs(t), runtime.NumGoroutine()
	dir := t.TempDir()
	var ws []*Watcher
	for range 10 {
		w, err := Watch(dir)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	idle, err := Watch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws = append(ws, idle)
	waiting := make(chan error)
	go func() {
		_, err := idle.Wait(t.Context(), 0, nil)
		waiting <- err
	}()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := openFDs(t); got < fds+len(ws) {
		t.Fatalf("%d descriptors with %d watchers, %d before", got, len(ws), fds)
	}
	time.Sleep(20 * time.Millisecond)
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Errorf("a wait across Close: %v", err)
	}
	if err := ws[0].Close(); err != nil {
		t.Errorf("closing again: %v", err)
	}
	if _, err := ws[1].Next(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	if _, err := ws[1].Wait(t.Context(), time.Second, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close: %v", err)
	}
	if got := openFDs(t); got != fds {
		t.Errorf("%d descriptors open after Close, %d before", got, fds)
	}
	// fsnotify's reader has signalled Close but may still be returning.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > goroutines {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", got, goroutines, buf[:runtime.Stack(buf, true)])
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}
