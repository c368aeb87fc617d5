// Package watch follows the files of `develop.watch` rules: recursive
// inotify watches (through fsnotify) that grow as directories appear, the
// ignore rules Docker Compose applies, and a debouncer that folds a burst
// of changes into one batch.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/composer-dev/compose/errdefs"
)

// ErrWatchLimit is the class of errors from running out of inotify
// watches or instances; the message names the sysctl to raise.
var ErrWatchLimit = errors.New("inotify limit reached")

// Watcher reports changes under a set of root paths (files or
// directories, existing or not yet). It never follows a symlink: a link is
// reported as itself.
type Watcher struct {
	fsw    *fsnotify.Watcher
	roots  []string
	skip   func(dir string) bool
	events chan string
	errs   chan error
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup

	mu      sync.Mutex
	dirs    map[string]bool // directories with a watch
	waiting map[string]bool // roots not there yet: their nearest ancestor is watched
}

// New watches roots. skip, when not nil, names directories whose trees
// need no watch (ignored by every rule); they are never descended into.
func New(roots []string, skip func(dir string) bool) (*Watcher, error) {
	fsw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, limitError(err, "")
	}
	if skip == nil {
		skip = func(string) bool { return false }
	}
	w := &Watcher{
		fsw: fsw, skip: skip,
		events: make(chan string, 1024), errs: make(chan error, 1), done: make(chan struct{}),
		dirs: map[string]bool{}, waiting: map[string]bool{},
	}
	for _, r := range roots {
		w.roots = append(w.roots, filepath.Clean(r))
	}
	for _, r := range w.roots {
		if _, err := w.establish(r); err != nil {
			fsw.Close()
			return nil, err
		}
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Events delivers changed paths: created, written, removed, renamed or
// with new metadata. A path may come several times.
func (w *Watcher) Events() <-chan string { return w.events }

// Errors delivers what stops the watch from seeing changes (an inotify
// limit reached while following a new directory).
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops the watch and releases its inotify instance.
func (w *Watcher) Close() error {
	var err error
	w.closed.Do(func() {
		close(w.done)
		err = w.fsw.Close()
		w.wg.Wait()
	})
	return err
}

// establish watches root, or the nearest existing directory above it when
// it does not exist yet. It returns the paths found under a directory
// root (for a root that just appeared, these changed too).
func (w *Watcher) establish(root string) ([]string, error) {
	fi, err := os.Lstat(root)
	switch {
	case err == nil && fi.IsDir():
		w.mu.Lock()
		delete(w.waiting, root)
		w.mu.Unlock()
		return w.addTree(root)
	case err == nil: // a file (or a link): its directory tells of its changes
		w.mu.Lock()
		delete(w.waiting, root)
		w.mu.Unlock()
		return nil, w.addDir(filepath.Dir(root))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	w.mu.Lock()
	w.waiting[root] = true
	w.mu.Unlock()
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return nil, w.addDir(dir)
		}
		if dir == "/" {
			return nil, nil
		}
	}
}

// addTree watches dir and every directory under it that is not skipped,
// and returns every path it found below dir.
func (w *Watcher) addTree(dir string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while we walk
				return nil
			}
			return err
		}
		if p != dir {
			found = append(found, p)
		}
		if !d.IsDir() { // WalkDir reports a symlink as itself: never followed
			return nil
		}
		if p != dir && w.skip(p) {
			return filepath.SkipDir
		}
		if err := w.addDir(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		return nil
	})
	return found, err
}

func (w *Watcher) addDir(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirs[dir] {
		return nil
	}
	if err := w.fsw.Add(dir); err != nil {
		return limitError(err, dir)
	}
	w.dirs[dir] = true
	return nil
}

// forget drops the watches of a removed or renamed directory and those
// below it (the kernel ends them on removal, not on a rename).
func (w *Watcher) forget(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirs[dir] { // only watched directories have watched children
		return
	}
	for d := range w.dirs {
		if d == dir || strings.HasPrefix(d, dir+"/") {
			_ = w.fsw.Remove(d)
			delete(w.dirs, d)
		}
	}
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if err := w.handle(ev); err != nil {
				w.fail(err)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Changes were lost: report every root, so what follows
				// them copies the whole trees again.
				for _, r := range w.roots {
					w.emit(r)
				}
				continue
			}
			w.fail(err)
		}
	}
}

func (w *Watcher) handle(ev fsnotify.Event) error {
	name := filepath.Clean(ev.Name)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.forget(name)
	}
	if ev.Has(fsnotify.Create) {
		if err := w.created(name); err != nil {
			return err
		}
	}
	if w.underRoot(name) {
		w.emit(name)
	}
	return nil
}

// created follows a new directory (reporting what was written into it
// before its watch existed) and roots that appeared.
func (w *Watcher) created(name string) error {
	w.mu.Lock()
	var appeared []string
	for r := range w.waiting {
		if r == name || strings.HasPrefix(r, name+"/") {
			appeared = append(appeared, r)
		}
	}
	w.mu.Unlock()
	for _, r := range appeared {
		found, err := w.establish(r)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(r); err == nil {
			w.emit(r)
		}
		for _, p := range found {
			w.emit(p)
		}
	}
	fi, err := os.Lstat(name)
	if err != nil || !fi.IsDir() || !w.underRoot(name) || w.skip(name) {
		return nil
	}
	found, err := w.addTree(name)
	for _, p := range found {
		if w.underRoot(p) {
			w.emit(p)
		}
	}
	return err
}

// underRoot reports whether p is a root or lies under one: a change to
// report (a file root's directory also tells of its siblings, which are not).
func (w *Watcher) underRoot(p string) bool {
	for _, r := range w.roots {
		if _, ok := within(r, p); ok {
			return true
		}
	}
	return false
}

func (w *Watcher) emit(p string) {
	select {
	case w.events <- p:
	case <-w.done:
	}
}

func (w *Watcher) fail(err error) {
	select {
	case w.errs <- err:
	default: // one error is enough to end the watch
	}
}

// limitError turns running out of inotify resources into an error that
// names the sysctl to raise.
func limitError(err error, dir string) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return errdefs.Mark(ErrWatchLimit, fmt.Errorf("cannot watch %s: the inotify watch limit is reached; raise it with `sysctl fs.inotify.max_user_watches=524288`", dir))
	case errors.Is(err, syscall.EMFILE):
		return errdefs.Mark(ErrWatchLimit, errors.New("cannot start watching files: too many inotify instances; raise the limit with `sysctl fs.inotify.max_user_instances=1024`"))
	case dir != "":
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	return err
}
