package container

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine/container/supervisor"
)

// staleCheck bounds each sleep between state reads: a supervisor killed
// before it recorded the exit writes nothing, and only a fresh ReadState
// notices it is gone.
const staleCheck = time.Second

// WaitFor returns the container's state as soon as done accepts it. It
// reads the state again on each write of the state file (the supervisor
// replaces it by rename; inotify on the container's directory wakes us),
// so callers see every transition at once instead of on a polling tick.
// Where inotify is unavailable it falls back to polling.
func WaitFor(ctx context.Context, dir string, done func(State) bool) (State, error) {
	var st State
	var err error
	werr := WaitDir(ctx, dir, func() bool {
		st, err = ReadState(dir)
		return err != nil || done(st)
	})
	if err == nil {
		err = werr
	}
	return st, err
}

// WaitDir calls check now and after each change of an entry in dir (and at
// least every second) until it returns true, or until ctx ends.
func WaitDir(ctx context.Context, dir string, check func() bool) error {
	w := newDirWatch(dir)
	// Closing an inotify instance waits for the kernel (an RCU grace
	// period, often milliseconds): do it off the caller's path.
	defer func() { go w.close() }()
	for !check() {
		if err := w.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// dirWatch wakes on changes in one directory.
type dirWatch struct {
	f   *os.File // non-blocking inotify instance, so deadlines work; nil = poll
	buf []byte
}

func newDirWatch(dir string) *dirWatch {
	w := &dirWatch{}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return w
	}
	const mask = unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return w
	}
	w.f, w.buf = os.NewFile(uintptr(fd), "inotify"), make([]byte, 4096)
	return w
}

// wait returns after a change, after staleCheck, or with ctx's error.
func (w *dirWatch) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.f == nil || w.f.SetReadDeadline(time.Now().Add(staleCheck)) != nil {
		t := time.NewTimer(pollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := w.f.Read(w.buf)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		w.f.Close() // broken instance: poll from now on
		w.f = nil
	}
	return nil
}

func (w *dirWatch) close() {
	if w.f != nil {
		w.f.Close()
	}
}

// Live reports whether the container runs, is being started, or waits
// for its restart policy to start it again.
func Live(st State) bool { return live(st) }

// The healthcheck statuses (State.Health.Status).
const (
	HealthStarting  = supervisor.HealthStarting
	HealthHealthy   = supervisor.HealthHealthy
	HealthUnhealthy = supervisor.HealthUnhealthy
)
