package logs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// watcher wakes a follower when the log directory changes (inotify), and
// falls back to polling where inotify is unavailable (no instances left,
// directory not created yet).
type watcher struct {
	dir string
	f   *os.File // inotify instance; nil when polling
	fd  int      // f's descriptor (f.Fd would make it blocking)
	wd  int      // watch descriptor; -1 until the directory is watched
	buf []byte
}

func newWatcher(path string) *watcher {
	w := &watcher{dir: filepath.Dir(path), wd: -1}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err == nil {
		// Non-blocking, so the runtime poller handles it and deadlines work.
		w.f, w.fd = os.NewFile(uintptr(fd), "inotify"), fd
		w.buf = make([]byte, 4096)
	}
	return w
}

func (w *watcher) addWatch() {
	if w.f == nil || w.wd >= 0 {
		return
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	wd, err := unix.InotifyAddWatch(w.fd, w.dir, mask)
	if err == nil {
		w.wd = wd
	}
}

// wait returns after a change in the directory, after at most max, or with
// ctx's error when ctx ends. The bound doubles as polling when the watch is
// lost (directory removed and made again).
func (w *watcher) wait(ctx context.Context, max time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.addWatch()
	if w.wd < 0 {
		return sleep(ctx, min(max, 100*time.Millisecond))
	}
	if err := w.f.SetReadDeadline(time.Now().Add(max)); err != nil {
		return sleep(ctx, min(max, 100*time.Millisecond))
	}
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := w.f.Read(w.buf)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		// A broken instance: poll from now on.
		w.f.Close()
		w.f, w.wd = nil, -1
	}
	return nil
}

func (w *watcher) close() {
	if w.f != nil {
		w.f.Close()
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
