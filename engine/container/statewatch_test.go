package container

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store/jsonfile"
)

// TestWaitForWakesOnWrite: a state write is seen at once (inotify), well
// before the one-second fallback re-read.
func TestWaitForWakesOnWrite(t *testing.T) {
	dir := t.TempDir()
	if err := writeState(dir, State{Status: StatusRunning}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got := make(chan State, 1)
	woke := make(chan time.Time, 1)
	go func() {
		st, err := WaitFor(ctx, dir, func(st State) bool { return st.Status == StatusExited })
		woke <- time.Now()
		if err != nil {
			t.Error(err)
		}
		got <- st
	}()
	time.Sleep(50 * time.Millisecond) // let it block on the watch: this test is about latency
	wrote := time.Now()
	if err := writeState(dir, State{Status: StatusExited, ExitCode: 3}); err != nil {
		t.Fatal(err)
	}
	at := <-woke
	if st := <-got; st.ExitCode != 3 {
		t.Errorf("state %+v, want exit code 3", st)
	}
	if d := at.Sub(wrote); d > staleCheck/2 {
		t.Errorf("woke %s after the write: not by inotify", d)
	}
}

func TestWaitForEnds(t *testing.T) {
	dir := t.TempDir()
	if err := writeState(dir, State{Status: StatusRunning}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := WaitFor(ctx, dir, func(State) bool { return false }); err != context.DeadlineExceeded {
		t.Errorf("at the deadline: %v", err)
	}
	if _, err := WaitFor(t.Context(), t.TempDir(), func(State) bool { return false }); !errdefs.IsNotFound(err) {
		t.Errorf("no state file: %v", err)
	}
}

// TestWaitDirIgnoresLogWrites: a container's log lines, written in place
// beside its state, do not make a waiter read the state again.
func TestWaitDirIgnoresLogWrites(t *testing.T) {
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "c-json.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	stop := make(chan struct{})
	written := make(chan struct{})
	go func() {
		defer close(written)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				log.WriteString(`{"log":"line\n"}` + "\n")
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	checks := 0
	if err := WaitDir(ctx, dir, func() bool { checks++; return false }); err != context.DeadlineExceeded {
		t.Errorf("at the deadline: %v", err)
	}
	close(stop)
	<-written
	if checks != 1 {
		t.Errorf("checked %d times while only the log was written", checks)
	}
	// The directory removed ends the wait at once.
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	gone := filepath.Join(t.TempDir(), "c")
	if err := os.Mkdir(gone, 0o700); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, func() { os.Remove(gone) })
	start := time.Now()
	if err := WaitDir(ctx, gone, func() bool { _, err := os.Stat(gone); return err != nil }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > staleCheck/2 {
		t.Errorf("noticed the removal after %s", d)
	}
}

// BenchmarkWaitForWake: from the rename that replaces the state file to
// WaitFor returning.
func BenchmarkWaitForWake(b *testing.B) {
	dir := b.TempDir()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		if err := writeState(dir, State{Status: StatusRunning}); err != nil {
			b.Fatal(err)
		}
		ready := make(chan struct{})
		woke := make(chan time.Time)
		go func() {
			first := true
			WaitFor(b.Context(), dir, func(st State) bool {
				if first {
					first = false
					close(ready)
				}
				return st.Status == StatusExited
			})
			woke <- time.Now()
		}()
		<-ready
		// Only the rename is timed, as the supervisor's write ends with it
		// (the fsync before it is the disk's time, not the watch's).
		next := filepath.Join(b.TempDir(), "next")
		if err := jsonfile.Write(next, State{Status: StatusExited}); err != nil {
			b.Fatal(err)
		}
		wrote := time.Now()
		if err := os.Rename(next, filepath.Join(dir, stateFile)); err != nil {
			b.Fatal(err)
		}
		total += (<-woke).Sub(wrote)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "wake-µs/op")
}
