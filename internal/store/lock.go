package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// FileLock is an exclusive flock held on a file. The lock belongs to the
// open file description, so it excludes other processes and other
// FileLocks of this process alike, and it dies with the process: a crashed
// holder never wedges the others.
type FileLock struct {
	f atomic.Pointer[os.File]
}

// How a waiter retries: at once after the lock file is closed somewhere
// (the holder's Unlock), else after a delay that doubles up to a cap. The
// retries without an event cover holders that died (the kernel reports
// the close just before it drops their lock) and hosts without inotify.
const (
	retryMin      = time.Millisecond
	retryMax      = 100 * time.Millisecond
	retryMaxBlind = 10 * time.Millisecond // when no inotify instance is left
)

// Lock returns once it holds an exclusive lock on path (created with its
// directory if needed), or with ctx's error, wrapped with path, once ctx
// ends while it waits. An uncontended lock is taken even when ctx has
// ended. Waiting takes no thread and leaves no goroutine behind.
func Lock(ctx context.Context, path string) (*FileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return lockOpen(ctx, f, path)
}

// LockDir is Lock on the directory dir itself, which must exist: the
// lock needs no file of its own, so nothing is left behind when the
// directory goes.
func LockDir(ctx context.Context, dir string) (*FileLock, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return lockOpen(ctx, f, dir)
}

// lockOpen takes the lock on f, which it closes on failure.
func lockOpen(ctx context.Context, f *os.File, path string) (*FileLock, error) {
	if err := acquire(ctx, f); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	l := &FileLock{}
	l.f.Store(f)
	return l, nil
}

// WithLock runs fn while holding the lock on path.
func WithLock(ctx context.Context, path string, fn func() error) error {
	l, err := Lock(ctx, path)
	if err != nil {
		return err
	}
	err = fn()
	if uerr := l.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// Unlock releases the lock. It is safe to call more than once, and on the
// zero FileLock (which holds nothing).
func (l *FileLock) Unlock() error {
	if l == nil {
		return nil
	}
	f := l.f.Swap(nil)
	if f == nil {
		return nil
	}
	// Unlock before the close: waiters wake on the close and must find
	// the lock free.
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return f.Close()
}

// acquire takes the flock on f, polling without blocking so that ctx is
// honoured: a blocking flock can be interrupted by nothing but a signal.
func acquire(ctx context.Context, f *os.File) error {
	if ok, err := tryFlock(f); ok || err != nil {
		return err
	}
	// Watch for closes before the next try, so that a release between the
	// try and the wait still wakes us.
	w := watchCloses(f.Name())
	defer w.close()
	delay, limit := retryMin, retryMax
	if w == nil {
		limit = retryMaxBlind
	}
	for {
		if ok, err := tryFlock(f); ok || err != nil {
			return err
		}
		woken, err := w.wait(ctx, delay)
		if err != nil {
			return err
		}
		if woken {
			delay = retryMin
		} else {
			delay = min(2*delay, limit)
		}
	}
}

func tryFlock(f *os.File) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		case !errors.Is(err, unix.EINTR):
			return false, err
		}
	}
}

// closeWatch is an inotify instance that reports closes of the lock file.
// Its fd is non-blocking and in Go's poller, so a wait parks the goroutine
// rather than a thread.
type closeWatch struct {
	f *os.File
}

// watchCloses watches path for closes; nil when inotify is not available
// (instances are limited per user), and the waiter falls back to polling.
func watchCloses(path string) *closeWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_CLOSE); err != nil {
		unix.Close(fd)
		return nil
	}
	return &closeWatch{f: os.NewFile(uintptr(fd), "inotify")}
}

func (w *closeWatch) close() {
	if w != nil {
		w.f.Close()
	}
}

// wait returns after d, or early with woken set when the lock file was
// closed somewhere, or with ctx's error once ctx ends.
func (w *closeWatch) wait(ctx context.Context, d time.Duration) (woken bool, err error) {
	if w == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// Ending ctx moves the deadline to the past, which ends the read. The
	// AfterFunc is registered after our own deadline is set, so it wins.
	if err := w.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		return false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = w.f.SetReadDeadline(time.Unix(1, 0)) })
	var buf [512]byte // several events; the content does not matter
	n, rerr := w.f.Read(buf[:])
	stop()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if n > 0 {
		return true, nil
	}
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		return false, nil
	}
	return false, rerr
}
