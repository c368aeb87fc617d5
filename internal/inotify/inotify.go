// Package inotify watches directories for changes of their entries: an
// entry created or renamed in, written, removed or renamed away. It serves
// the engine's own files (a container's state, its log files, the
// containers directory), where a change must wake a waiter at once rather
// than on a polling tick. It wraps fsnotify, the module's one inotify
// library; watch/ uses fsnotify directly for its recursive trees.
package inotify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/composer-dev/compose/errdefs"
)

// Op is what happened to an entry; one event may carry several.
type Op uint8

const (
	Create Op = 1 << iota // created, or renamed into the directory
	Write                 // written
	Remove                // removed
	Rename                // renamed away (out of the directory, or to another name)
)

// Event is one change. Path is the entry (the watched directory joined
// with the entry's name), or the watched directory itself when it is
// removed or renamed: its watch has ended then.
type Event struct {
	Path string
	Op   Op
}

// Has reports whether e carries op.
func (e Event) Has(op Op) bool { return e.Op&op != 0 }

var (
	// ErrClosed is returned by Next and Wait once the watcher is closed.
	ErrClosed = errors.New("inotify watcher closed")
	// ErrOverflow is returned by Next when the kernel's event queue
	// overflowed: events were lost, so whoever keeps track of the
	// directories should read them again. The watcher goes on.
	ErrOverflow = errors.New("inotify event queue overflowed")
)

// eventBuffer lets fsnotify's reader run ahead of a busy caller, so a
// burst is queued here and Wait consumes it at once.
const eventBuffer = 64

// Watcher watches directories, not their subdirectories, through one
// inotify instance. One goroutine at a time may call Next or Wait; Add,
// Remove, Watching and Close may be called from any goroutine.
type Watcher struct {
	fsw    *fsnotify.Watcher
	done   chan struct{} // closed by Close
	closed sync.Once

	mu   sync.Mutex
	dirs map[string]bool // the directories watched now
}

// New returns a watcher with no directory yet.
func New() (*Watcher, error) {
	fsw, err := fsnotify.NewBufferedWatcher(eventBuffer)
	if err != nil {
		return nil, classify("inotify", err)
	}
	return &Watcher{fsw: fsw, done: make(chan struct{}), dirs: map[string]bool{}}, nil
}

// Watch returns a watcher of dir.
func Watch(dir string) (*Watcher, error) {
	w, err := New()
	if err != nil {
		return nil, err
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Add watches the directory dir; adding it again does nothing. Changes
// from then on are reported: the caller reads what is there already.
func (w *Watcher) Add(dir string) error {
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err != nil {
		return classify("watch "+dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("watch %s: not a directory: %w", dir, errdefs.ErrInvalidArgument)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.fsw.Add(dir); err != nil {
		return classify("watch "+dir, err)
	}
	w.dirs[dir] = true
	return nil
}

// Remove stops watching dir; a directory not watched is no error.
func (w *Watcher) Remove(dir string) {
	dir = filepath.Clean(dir)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forget(dir)
}

// forget drops dir's watch (w.mu held). The kernel has ended it already
// when dir was removed; a renamed dir's watch would report under a path
// that is no longer true.
func (w *Watcher) forget(dir string) {
	if w.dirs[dir] {
		delete(w.dirs, dir)
		_ = w.fsw.Remove(dir) // gone already when dir was removed
	}
}

// Watching reports whether dir is watched: added, and neither removed nor
// renamed since.
func (w *Watcher) Watching(dir string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirs[filepath.Clean(dir)]
}

// Next returns the next change, or ctx's error once ctx ends. It returns
// ErrOverflow when changes were lost (the watcher goes on) and ErrClosed
// once the watcher is closed.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	for {
		if err := w.ended(ctx); err != nil {
			return Event{}, err
		}
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-w.done:
			return Event{}, ErrClosed
		case fe, ok := <-w.fsw.Events:
			if !ok {
				return Event{}, ErrClosed
			}
			if ev, ok := w.event(fe); ok {
				return ev, nil
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return Event{}, ErrClosed
			}
			return Event{}, w.error(err)
		}
	}
}

// Wait blocks until a change that match accepts (nil accepts every
// change), until timeout has passed (0: no bound), or until ctx ends
// (then it returns ctx's error). It reports whether a change came; lost
// events count as one. Changes queued behind it are consumed with it, so
// a burst wakes the caller once.
func (w *Watcher) Wait(ctx context.Context, timeout time.Duration, match func(Event) bool) (bool, error) {
	if err := w.ended(ctx); err != nil {
		return false, err
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-expired:
			return false, nil
		case <-w.done:
			return false, ErrClosed
		case fe, ok := <-w.fsw.Events:
			if !ok {
				return false, ErrClosed
			}
			if ev, ok := w.event(fe); ok && (match == nil || match(ev)) {
				w.drain()
				return true, nil
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return false, ErrClosed
			}
			if err = w.error(err); !errors.Is(err, ErrOverflow) {
				return false, err
			}
			w.drain()
			return true, nil
		}
	}
}

// ended returns ctx's error, or ErrClosed once w is closed: events still
// buffered are not news any more.
func (w *Watcher) ended(ctx context.Context) error {
	select {
	case <-w.done:
		return ErrClosed
	default:
		return ctx.Err()
	}
}

// drain consumes the events queued now, keeping the watch list true.
func (w *Watcher) drain() {
	for {
		select {
		case fe, ok := <-w.fsw.Events:
			if !ok {
				return // the next Wait reports ErrClosed
			}
			w.event(fe)
		default:
			return
		}
	}
}

// event turns fsnotify's event into ours; a change of metadata only is
// none. The end of a watched directory ends its watch.
func (w *Watcher) event(fe fsnotify.Event) (Event, bool) {
	ev := Event{Path: filepath.Clean(fe.Name)}
	for _, m := range []struct {
		from fsnotify.Op
		to   Op
	}{{fsnotify.Create, Create}, {fsnotify.Write, Write}, {fsnotify.Remove, Remove}, {fsnotify.Rename, Rename}} {
		if fe.Has(m.from) {
			ev.Op |= m.to
		}
	}
	if ev.Op == 0 {
		return Event{}, false
	}
	if ev.Has(Remove | Rename) {
		w.mu.Lock()
		w.forget(ev.Path)
		w.mu.Unlock()
	}
	return ev, true
}

func (w *Watcher) error(err error) error {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		return ErrOverflow
	}
	return fmt.Errorf("inotify: %w", err)
}

// Close ends every watch and releases the inotify instance and the
// goroutine that reads it; it returns once both are gone. Closing again
// does nothing.
func (w *Watcher) Close() error {
	var err error
	w.closed.Do(func() {
		close(w.done)
		err = w.fsw.Close()
	})
	return err
}

// classify wraps err with what failed, in the errdefs class a caller can
// act on: a missing directory, or a limit of the host (with the sysctl
// that raises it).
func classify(what string, err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("%s: %w", what, err))
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%s: the inotify watch limit is reached (sysctl fs.inotify.max_user_watches): %w", what, errdefs.ErrFailedPrecondition)
	case errors.Is(err, syscall.EMFILE):
		return fmt.Errorf("%s: too many inotify instances (sysctl fs.inotify.max_user_instances): %w", what, errdefs.ErrFailedPrecondition)
	}
	return fmt.Errorf("%s: %w", what, err)
}
