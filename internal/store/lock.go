package store

import (
	"context"
	"errors"
	"io/fs"
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
//
// The holder may delete the lock file (Remove) while others wait on it:
// Lock checks, once it holds the lock, that path still names the file it
// locked, and otherwise locks the file now there (or a new one) instead.
// So every holder holds the lock of the file path names, and a lock file
// can go with the thing it guards.
type FileLock struct {
	f    atomic.Pointer[os.File]
	path string
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
	return lock(ctx, path, unix.LOCK_EX, func() (*os.File, error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	})
}

// ShareDir returns once it holds a shared lock on the directory dir
// (created if needed), as Lock does for a file. Holders of shared locks
// keep TryLockDir from getting the directory, so whoever removes the
// directory under TryLockDir's lock knows that nobody is using it.
func ShareDir(ctx context.Context, dir string) (*FileLock, error) {
	return lock(ctx, dir, unix.LOCK_SH, func() (*os.File, error) {
		if err := os.MkdirAll(dir, 0o711); err != nil { // others may look up what is inside
			return nil, err
		}
		return os.Open(dir)
	})
}

// LockDir is Lock on the existing directory dir itself: the lock needs no
// file of its own, so nothing is left behind when the directory goes.
func LockDir(ctx context.Context, dir string) (*FileLock, error) {
	return lock(ctx, dir, unix.LOCK_EX, func() (*os.File, error) {
		return os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	})
}

// TryLockDir takes an exclusive lock on the existing directory dir without
// waiting: nil (and no error) when dir does not exist or another holds a
// lock on it.
func TryLockDir(dir string) (*FileLock, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ok, err := tryFlock(f, unix.LOCK_EX)
	if err == nil && ok {
		ok, err = namesFile(dir, f)
	}
	if err != nil || !ok {
		f.Close()
		return nil, err
	}
	l := &FileLock{path: dir}
	l.f.Store(f)
	return l, nil
}

// lock opens path with open and takes the flock how on it, until the file
// it holds locked is the one path names.
func lock(ctx context.Context, path string, how int, open func() (*os.File, error)) (*FileLock, error) {
	for tries := 1; ; tries++ {
		f, err := open()
		if errors.Is(err, fs.ErrNotExist) && tries < 100 {
			continue // the directory went between MkdirAll and the open
		}
		if err != nil {
			return nil, err
		}
		if err := acquire(ctx, f, how); err != nil {
			f.Close()
			return nil, &os.PathError{Op: "lock", Path: path, Err: err}
		}
		same, err := namesFile(path, f)
		if err != nil {
			f.Close()
			return nil, &os.PathError{Op: "lock", Path: path, Err: err}
		}
		if same {
			l := &FileLock{path: path}
			l.f.Store(f)
			return l, nil
		}
		// Its holder removed the file before releasing it: what path
		// names now (if anything) is the lock.
		f.Close()
	}
}

// namesFile reports whether path still names the open file f.
func namesFile(path string, f *os.File) (bool, error) {
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		return false, err
	}
	if err := unix.Stat(path, &now); errors.Is(err, unix.ENOENT) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return held.Dev == now.Dev && held.Ino == now.Ino, nil
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

// Remove deletes the lock file (or directory, which must be empty by
// then) and releases the lock; waiters then lock a new file at the same
// path. Like Unlock it is safe to call more than once.
func (l *FileLock) Remove() error {
	if l == nil {
		return nil
	}
	f := l.f.Swap(nil)
	if f == nil {
		return nil
	}
	var err error
	// Only while path is ours: never the file of the next holder.
	if same, serr := namesFile(l.path, f); serr != nil {
		err = serr
	} else if same {
		if err = os.Remove(l.path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// acquire takes the flock how (LOCK_EX or LOCK_SH) on f, polling without
// blocking so that ctx is honoured: a blocking flock can be interrupted by
// nothing but a signal.
func acquire(ctx context.Context, f *os.File, how int) error {
	if ok, err := tryFlock(f, how); ok || err != nil {
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
		if ok, err := tryFlock(f, how); ok || err != nil {
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

func tryFlock(f *os.File, how int) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
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
