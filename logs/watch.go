package logs

import (
	"context"
	"path/filepath"
	"time"

	"github.com/composer-dev/compose/internal/inotify"
)

// watcher wakes a follower when the log's directory changes (inotify), and
// polls where inotify is unavailable: no instance left, the directory not
// made yet, or made again since it was watched.
type watcher struct {
	dir string
	in  *inotify.Watcher // nil when polling
}

func newWatcher(path string) *watcher {
	w := &watcher{dir: filepath.Dir(path)}
	if in, err := inotify.New(); err == nil {
		w.in = in
		_ = in.Add(w.dir) // not there yet: wait adds it later
	}
	return w
}

// wait returns after a change in the directory, after at most max, or with
// ctx's error when ctx ends.
func (w *watcher) wait(ctx context.Context, max time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.in != nil && !w.in.Watching(w.dir) && w.in.Add(w.dir) == nil {
		// Watched again (made, or made again): what was written before
		// the watch is for the caller to read first.
		return nil
	}
	if w.in == nil || !w.in.Watching(w.dir) {
		return sleep(ctx, min(max, 100*time.Millisecond))
	}
	_, err := w.in.Wait(ctx, max, nil)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err != nil {
		// A broken instance: poll from now on.
		w.in.Close()
		w.in = nil
	}
	return nil
}

func (w *watcher) close() {
	if w.in != nil {
		w.in.Close()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
