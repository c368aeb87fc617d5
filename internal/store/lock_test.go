package store

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockExcludes: read-increment-write of a counter file under the lock,
// from many goroutines each with its own open file description (as
// separate processes would have), never loses an update.
func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	lockPath, counter := filepath.Join(dir, "x.lock"), filepath.Join(dir, "n")
	if err := WriteFile(counter, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := WithLock(t.Context(), lockPath, func() error {
				b, err := os.ReadFile(counter)
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(string(b))
				return WriteFileVolatile(counter, []byte(strconv.Itoa(n+1)), 0o600)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if b, _ := os.ReadFile(counter); string(b) != "20" {
		t.Fatalf("counter %s, want 20", b)
	}
}

// TestLockWaitsForHolder: a second Lock of the same path waits until the
// first is unlocked, then gets it.
func TestLockWaitsForHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock") // the directory is created
	first, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := Lock(t.Context(), path)
		if err == nil {
			err = l.Unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second Lock returned (%v) while the first was held", err)
	case <-time.After(150 * time.Millisecond):
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second Lock still waiting after Unlock")
	}
}

// TestLockCancelled: a waiting Lock returns ctx's error promptly when ctx
// is cancelled, and leaves no goroutine or file descriptor behind.
func TestLockCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	held, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	fds, goroutines := openFDs(t), runtime.NumGoroutine()

	for _, end := range []struct {
		name string
		ctx  func() (ctx context.Context, end func()) // end ends ctx, or waits until it ends
		want error
	}{
		{"cancel", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(t.Context())
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, func()) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx, func() { <-ctx.Done() }
		}, context.DeadlineExceeded},
	} {
		ctx, endCtx := end.ctx()
		got := make(chan error, 1)
		go func() {
			_, err := Lock(ctx, path)
			got <- err
		}()
		time.Sleep(150 * time.Millisecond) // waiting by now, past the first retries
		endCtx()
		ended := time.Now()
		select {
		case err := <-got:
			if !errors.Is(err, end.want) {
				t.Errorf("%s: got %v, want %v", end.name, err, end.want)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != path {
				t.Errorf("%s: %v does not name %s", end.name, err, path)
			}
			if d := time.Since(ended); d > time.Second {
				t.Errorf("%s: returned %v after ctx ended", end.name, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Lock still waiting after ctx ended", end.name)
		}
	}

	// The AfterFunc goroutine that ends a read may still be finishing.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after the cancelled Locks, %d before", n, goroutines)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("%d open fds after the cancelled Locks, %d before", n, fds)
	}
}

// TestLockEndedCtxUncontended: a free lock is taken even with an ended ctx,
// as cleanups running after Ctrl-C need.
func TestLockEndedCtxUncontended(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l, err := Lock(ctx, filepath.Join(t.TempDir(), "x.lock"))
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
}

func TestUnlockIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := l.Unlock(); err != nil {
			t.Fatalf("Unlock %d: %v", i, err)
		}
	}
	var zero FileLock
	if err := zero.Unlock(); err != nil {
		t.Fatal(err)
	}
	var none *FileLock
	if err := none.Unlock(); err != nil {
		t.Fatal(err)
	}
	// Released: a new holder gets it at once.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	l2, err := Lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
}

func TestWithLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	boom := errors.New("boom")
	if err := WithLock(t.Context(), path, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want fn's error", err)
	}
	// fn's failure released the lock too.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	ran := false
	if err := WithLock(ctx, path, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("second WithLock: %v, ran %v", err, ran)
	}
}

func TestLockErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "x.lock") // under a regular file
	if _, err := Lock(t.Context(), path); err == nil {
		t.Fatal("Lock under a regular file succeeded")
	} else if pe := (*fs.PathError)(nil); !errors.As(err, &pe) {
		t.Fatalf("%v is not a *fs.PathError", err)
	}
}

// TestCloseWakesWaiter: a close of the lock file anywhere wakes a waiter
// at once, long before its retry delay.
func TestCloseWakesWaiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := watchCloses(path)
	if w == nil {
		t.Skip("no inotify instance available")
	}
	defer w.close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	woken, err := w.wait(t.Context(), time.Minute)
	if err != nil || !woken {
		t.Fatalf("woken %v, %v", woken, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("woken after %v", d)
	}
	// Without a close it times out, not woken.
	if woken, err := w.wait(t.Context(), 10*time.Millisecond); err != nil || woken {
		t.Fatalf("woken %v, %v; want a plain timeout", woken, err)
	}
}

// TestLockAcrossProcesses: a lock held by another process excludes this
// one, and the holder's death releases it.
func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HOLD="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while another process holds it: %v, want a deadline error", err)
	}

	got := make(chan error, 1)
	go func() {
		l, err := Lock(t.Context(), path)
		if err == nil {
			err = l.Unlock()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil { // dies holding it
		t.Fatal(err)
	}
	stdin.Close()
	cmd.Wait()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock still waiting after the holder died")
	}
}

// TestHelperHoldLock is the child of TestLockAcrossProcesses: it takes the
// lock, says so, and holds it until stdin closes or it is killed.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv("STORE_TEST_HOLD")
	if path == "" {
		t.Skip("helper process only")
	}
	l, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	var b [1]byte
	os.Stdin.Read(b[:])
	l.Unlock()
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestLockSurvivesUnlink: holders unlink the lock file before they release
// it (as when a project's lock goes with the project), while others wait on
// it and take it: two holders are never inside at once, because a Lock that
// got the lock of a file no longer at path tries again.
func TestLockSurvivesUnlink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "p.lock")
	var inside, max atomic.Int32
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				l, err := Lock(t.Context(), path)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := max.Load(); n > m && !max.CompareAndSwap(m, n); m = max.Load() {
				}
				time.Sleep(50 * time.Microsecond)
				inside.Add(-1)
				if (g+i)%2 == 0 {
					err = l.Remove()
				} else {
					err = l.Unlock()
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if m := max.Load(); m != 1 {
		t.Fatalf("%d holders inside at once, want 1", m)
	}
}

// TestRemoveUnlinksHeldFile: Remove deletes the lock file and releases the
// lock; a missing file (removed by someone else) is not an error.
func TestRemoveUnlinksHeldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lock file after Remove: %v", err)
	}
	if err := l.Remove(); err != nil { // released already: nothing to do
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	l2, err := Lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
}

// TestShareDirAndTryLockDir: shared holders of a directory keep
// TryLockDir away; once they are gone it gets the directory and may remove
// it, and a ShareDir waiting meanwhile ends up holding a new directory at
// the same path, not the removed one.
func TestShareDirAndTryLockDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "x")
	s1, err := ShareDir(t.Context(), dir) // creates it
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ShareDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := TryLockDir(dir); err != nil || l != nil {
		t.Fatalf("TryLockDir while shared: %v, %v", l, err)
	}
	s1.Unlock()
	s2.Unlock()
	ex, err := TryLockDir(dir)
	if err != nil || ex == nil {
		t.Fatalf("TryLockDir of an unused dir: %v, %v", ex, err)
	}
	got := make(chan *FileLock, 1)
	go func() {
		s, err := ShareDir(t.Context(), dir)
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	select {
	case <-got:
		t.Fatal("ShareDir got the dir while TryLockDir held it")
	case <-time.After(100 * time.Millisecond):
	}
	if err := ex.Remove(); err != nil {
		t.Fatal(err)
	}
	s3 := <-got
	defer s3.Unlock()
	if ok, err := namesFile(dir, s3.f.Load()); err != nil || !ok {
		t.Fatalf("ShareDir holds a dir that is not at %s: %v %v", dir, ok, err)
	}
	if l, err := TryLockDir(filepath.Join(dir, "nosuch")); err != nil || l != nil {
		t.Fatalf("TryLockDir of a missing dir: %v, %v", l, err)
	}
}

// TestLockDir: a directory's lock excludes another LockDir of it (and a
// waiter gets it once released), creates no file, and a missing directory
// is an error that names it.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	first, err := LockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if l, err := LockDir(ctx, dir); !errors.Is(err, context.DeadlineExceeded) {
		l.Unlock()
		t.Fatalf("second LockDir while held: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := LockDir(t.Context(), dir)
		if err == nil {
			err = l.Unlock()
		}
		got <- err
	}()
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LockDir still waiting after Unlock")
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		t.Errorf("LockDir left %v in the directory", ents)
	}
	missing := filepath.Join(dir, "gone")
	if _, err := LockDir(t.Context(), missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LockDir of a missing dir: %v", err)
	}
}
