package container

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// state reads the container's state or fails the test.
func stateOf(t testing.TB, dir string) State {
	t.Helper()
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitState polls the state until cond holds (or 20 s pass) and returns it.
func waitState(t testing.TB, dir, what string, cond func(State) bool) State {
	t.Helper()
	var st State
	deadline := time.Now().Add(20 * time.Second)
	for {
		st = stateOf(t, dir)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; state %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartPolicy kills the container's process from the host (as a crash
// would) and checks what the policy does about it.
func TestRestartPolicy(t *testing.T) {
	testutil.RequiresRoot(t)
	tests := []struct {
		name    string
		policy  RestartPolicy
		comesUp bool
	}{
		{"always", RestartPolicy{Name: RestartAlways}, true},
		{"unless-stopped", RestartPolicy{Name: RestartUnlessStopped}, true},
		{"on-failure", RestartPolicy{Name: RestartOnFailure}, true},
		{"no", RestartPolicy{Name: RestartNo}, false},
		{"zero value", RestartPolicy{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "sh", "-c", "echo up; sleep 100")
			spec.Restart = tt.policy
			if err := rt.Start(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			first := stateOf(t, spec.Dir)
			if first.Pid <= 1 { // kill(0) or kill(-1) would hit the test itself
				t.Fatalf("no container pid in state: %+v", first)
			}
			// Start returns once the program runs, maybe before it printed.
			testutil.Eventually(t, 10*time.Second, "the first run's output", func() bool { return readLog(t, spec.Dir, "stdout") == "up\n" })
			if err := syscall.Kill(first.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if !tt.comesUp {
				st, err := rt.Wait(t.Context(), spec.Dir)
				if err != nil || st.Status != StatusExited || st.ExitCode != 137 || st.RestartCount != 0 {
					t.Fatalf("state = %+v, %v; want exited 137 and no restart", st, err)
				}
				return
			}
			st := waitState(t, spec.Dir, "the restart", func(st State) bool {
				return st.Status == StatusRunning && st.Pid != first.Pid
			})
			if st.RestartCount != 1 || st.SupervisorPid != first.SupervisorPid {
				t.Errorf("after restart: %+v; want restart count 1 under the same supervisor", st)
			}
			testutil.Eventually(t, 10*time.Second, "the second run's output", func() bool { return readLog(t, spec.Dir, "stdout") == "up\nup\n" })
			// A stop by the user is final, whatever the policy.
			if err := rt.Stop(t.Context(), spec.Dir, 0); err != nil {
				t.Fatal(err)
			}
			st = stateOf(t, spec.Dir)
			if st.Status != StatusExited || st.ExitCode != 137 {
				t.Errorf("after stop: %+v, want exited 137", st)
			}
		})
	}
}

// TestRestartOnFailureLimit: on-failure:2 restarts a failing container
// twice, then leaves it exited; a success is never restarted.
func TestRestartOnFailureLimit(t *testing.T) {
	testutil.RequiresRoot(t)
	tests := []struct {
		name     string
		script   string
		code     int
		restarts int
		lines    string
	}{
		{"failing", "echo run; exit 3", 3, 2, "run\nrun\nrun\n"},
		{"succeeding", "echo run", 0, 0, "run\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "sh", "-c", tt.script)
			spec.Restart = RestartPolicy{Name: RestartOnFailure, MaxRetries: 2}
			begin := time.Now()
			st := run(t, rt, spec)
			if st.Status != StatusExited || st.ExitCode != tt.code || st.RestartCount != tt.restarts {
				t.Errorf("state = %+v, want exited %d after %d restarts", st, tt.code, tt.restarts)
			}
			if got := readLog(t, spec.Dir, "stdout"); got != tt.lines {
				t.Errorf("stdout = %q, want %q", got, tt.lines)
			}
			// Docker's back-off: 100 ms, then 200 ms.
			if d := time.Since(begin); tt.restarts == 2 && d < 300*time.Millisecond {
				t.Errorf("two restarts took %v: no back-off", d)
			}
		})
	}
}

// TestStopDuringBackoff: a stop while the supervisor waits to restart ends
// the container at once.
func TestStopDuringBackoff(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh", "-c", "exit 1")
	spec.Restart = RestartPolicy{Name: RestartAlways, Delay: time.Hour}
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	waitState(t, spec.Dir, "restarting", func(st State) bool { return st.Status == StatusRestarting })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := rt.Stop(ctx, spec.Dir, time.Second); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, spec.Dir); st.Status != StatusExited || st.ExitCode != 1 || live(st) {
		t.Errorf("after stop: %+v, want exited 1", st)
	}
}

// TestHealthcheck drives a container's health through starting, healthy
// and unhealthy with a file the probe tests.
func TestHealthcheck(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	spec.Health = &Healthcheck{Test: []string{"sh", "-c", "cat /tmp/health"}, Interval: 50 * time.Millisecond, Retries: 2, Timeout: 5 * time.Second}
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if h := stateOf(t, spec.Dir).Health; h == nil || h.Status != "starting" {
		t.Fatalf("health after start = %+v, want starting", h)
	}
	flag := filepath.Join(mergedDir(spec.Dir), "tmp", "health")
	if err := os.WriteFile(flag, []byte("all good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, spec.Dir, "healthy", func(st State) bool { return st.Health != nil && st.Health.Status == "healthy" })
	last := st.Health.Log[len(st.Health.Log)-1]
	if last.ExitCode != 0 || last.Output != "all good\n" || last.End.Before(last.Start) {
		t.Errorf("last probe = %+v", last)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	st = waitState(t, spec.Dir, "unhealthy", func(st State) bool { return st.Health != nil && st.Health.Status == "unhealthy" })
	if st.Health.FailingStreak < 2 || st.Status != StatusRunning {
		t.Errorf("unhealthy state = %+v", st)
	}
	waitState(t, spec.Dir, "five probes logged", func(st State) bool { return len(st.Health.Log) == 5 })
	if st := stateOf(t, spec.Dir); len(st.Health.Log) > 5 || !strings.Contains(st.Health.Log[4].Output, "can't open") {
		t.Errorf("log = %+v, want the last 5 probes", st.Health.Log)
	}
}

// TestHealthcheckTimeout: a probe that runs too long counts as a failure
// with Docker's message, and is killed.
func TestHealthcheckTimeout(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	spec.Health = &Healthcheck{Test: []string{"sleep", "30"}, Interval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, Retries: 1}
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, spec.Dir, "unhealthy", func(st State) bool { return st.Health != nil && st.Health.Status == "unhealthy" })
	if r := st.Health.Log[0]; r.ExitCode != -1 || r.Output != "Health check exceeded timeout (200ms)" {
		t.Errorf("probe = %+v", r)
	}
	// Only the container's own sleep is left: the probe's was killed.
	testutil.Eventually(t, 10*time.Second, "the probe's process to go", func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/task/" + strconv.Itoa(st.Pid) + "/children")
		return countProcsInCgroup(spec.ID) == 1 && len(strings.Fields(string(b))) == 0
	})
}

// countProcsInCgroup counts the processes whose cgroup names the container.
func countProcsInCgroup(id string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(id)) {
			n++
		}
	}
	return n
}

// TestLogRotation: the log rotates at max-size and keeps max-file files;
// the "none" driver writes no log at all.
func TestLogRotation(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Run("json-file", func(t *testing.T) {
		t.Parallel()
		rt := testRuntime(t)
		spec := newSpec(t, rt, "sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done")
		spec.Log = LogOptions{MaxSize: 2000, MaxFile: 3}
		if st := run(t, rt, spec); st.ExitCode != 0 {
			t.Fatalf("state %+v", st)
		}
		files, _ := filepath.Glob(filepath.Join(spec.Dir, "*-json.log*"))
		if len(files) != 3 {
			t.Fatalf("log files = %v, want 3", files)
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err != nil || fi.Size() > 2000 {
				t.Errorf("%s: %v, size over max-size", f, err)
			}
		}
		if got := readLog(t, spec.Dir, "stdout"); !strings.HasSuffix(got, "line 299\n") {
			t.Errorf("live log ends %q", got[max(0, len(got)-40):])
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		rt := testRuntime(t)
		spec := newSpec(t, rt, "echo", "hello")
		spec.Log = LogOptions{Driver: LogNone}
		if st := run(t, rt, spec); st.ExitCode != 0 {
			t.Fatalf("state %+v", st)
		}
		if files, _ := filepath.Glob(filepath.Join(spec.Dir, "*-json.log*")); len(files) != 0 {
			t.Errorf("log files with driver none: %v", files)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAttachTty: a tty container's shell takes input through Attach, sees
// its terminal resized, and Attach returns when it exits.
func TestAttachTty(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh")
	spec.Options.Tty, spec.Options.OpenStdin = true, true
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var out syncBuffer
	resize := make(chan WindowSize, 1)
	done := make(chan error, 1)
	// Attach while Start runs: nothing of the output is missed.
	go func() { done <- rt.Attach(t.Context(), spec.Dir, stdinR, &out, &out, resize) }()
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdinW, "echo hi-$((40+2))\n"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the command's output", func() bool { return strings.Contains(out.String(), "hi-42") })
	resize <- WindowSize{Rows: 33, Cols: 101}
	testutil.Eventually(t, 10*time.Second, "the resize", func() bool {
		io.WriteString(stdinW, "stty size\n")
		time.Sleep(20 * time.Millisecond)
		return strings.Contains(out.String(), "33 101")
	})
	if _, err := io.WriteString(stdinW, "exit 5\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Attach did not return after the container exited")
	}
	st, err := rt.Wait(t.Context(), spec.Dir)
	if err != nil || st.ExitCode != 5 {
		t.Fatalf("state %+v, %v", st, err)
	}
	if got := readLog(t, spec.Dir, "stdout"); !strings.Contains(got, "hi-42\r\n") {
		t.Errorf("tty output not logged as stdout: %q", got)
	}
}

// TestAttachStdin: without a tty, stdin is a pipe whose end reaches the
// container when the attached input ends; stdout and stderr stay apart.
func TestAttachStdin(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh", "-c", "cat; echo done >&2")
	spec.Options.OpenStdin = true
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	if err := rt.Attach(t.Context(), spec.Dir, strings.NewReader("hello\n"), &stdout, &stderr, nil); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "hello\n" || stderr.String() != "done\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if st, err := rt.Wait(t.Context(), spec.Dir); err != nil || st.ExitCode != 0 {
		t.Fatalf("state %+v, %v", st, err)
	}
}

// TestOOMKilled: a container over its memory limit is killed by the kernel
// and flagged.
func TestOOMKilled(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	// The shell grows a string until the 8 MiB limit kills it.
	spec := newSpec(t, rt, "sh", "-c", "x=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; while true; do x=$x$x; done")
	spec.Options.Resources.Memory = 8 << 20
	spec.Options.Resources.MemorySwap = 8 << 20
	st := run(t, rt, spec)
	if !st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("state = %+v, want OOM killed with 137", st)
	}
}
