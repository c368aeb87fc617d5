package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStateWatcherWakesOnRename: a state file rewritten by rename (as the
// supervisor writes it) wakes the waiter at once, long before the recheck
// bound.
func TestStateWatcherWakesOnRename(t *testing.T) {
	dir := t.TempDir()
	w := newStateWatcher(dir)
	defer w.close()
	if w.f == nil {
		t.Skip("inotify unavailable")
	}
	go func() {
		time.Sleep(50 * time.Millisecond) // the waiter is blocked by then
		tmp := filepath.Join(dir, ".state.json.tmp")
		_ = os.WriteFile(tmp, []byte("{}"), 0o600)
		_ = os.Rename(tmp, filepath.Join(dir, "state.json"))
	}()
	start := time.Now()
	if err := w.wait(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("woke after %s: the rename was not noticed", d)
	}
}

func TestStateWatcherCancel(t *testing.T) {
	w := newStateWatcher(t.TempDir())
	defer w.close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := w.wait(ctx, time.Minute); err != context.Canceled {
		t.Errorf("wait after cancel: %v", err)
	}
}
