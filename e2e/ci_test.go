package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// stream runs a long-lived compose command and collects its output lines.
type stream struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    []string // stdout lines
	errOut []string // stderr lines
	done   chan struct{}
	err    error // Wait's result, once done is closed
}

func (c *cli) start(ctx context.Context, args ...string) *stream {
	c.t.Helper()
	s := &stream{cmd: c.command(ctx, args...), done: make(chan struct{})}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	var readers sync.WaitGroup
	collect := func(r interface{ Read([]byte) (int, error) }, into *[]string) {
		defer readers.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			s.mu.Lock()
			*into = append(*into, sc.Text())
			s.mu.Unlock()
		}
	}
	readers.Add(2)
	go collect(stdout, &s.out)
	go collect(stderr, &s.errOut)
	go func() {
		readers.Wait()
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	return s
}

func (s *stream) stdout() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.out...)
}

func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "stdout:\n" + strings.Join(s.out, "\n") + "\nstderr:\n" + strings.Join(s.errOut, "\n")
}

// count is how many stdout lines contain want.
func (s *stream) count(want string) int {
	n := 0
	for _, l := range s.stdout() {
		if strings.Contains(l, want) {
			n++
		}
	}
	return n
}

// waitOut waits until n stdout lines contain want.
func (s *stream) waitOut(t *testing.T, timeout time.Duration, want string, n int) {
	t.Helper()
	deadline := time.After(timeout)
	for s.count(want) < n {
		select {
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %d line(s) with %q\n%s", timeout, n, want, s)
		case <-s.done:
			if s.count(want) < n {
				t.Fatalf("command ended before %d line(s) with %q\n%s", n, want, s)
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// exit waits for the command and returns its exit code.
func (s *stream) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Fatalf("still running after %s\n%s", timeout, s)
	}
	if ee, ok := s.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if s.err != nil {
		t.Fatalf("%v\n%s", s.err, s)
	}
	return 0
}

// states maps container names to their state (running, exited...).
func (c *cli) states() map[string]string {
	out := map[string]string{}
	for _, e := range c.ps() {
		out[e.Name] = e.State
	}
	return out
}

func ciProject(t *testing.T, dir string) *cli {
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = dir
	t.Cleanup(func() { c.run("down", "-t", "1") })
	return c
}

// TestUpWait: `up --wait` returns 0 once the containers run and are healthy
// (a one-shot job others wait on may have exited 0), and fails naming the
// container that exited, turned unhealthy or was not healthy in time.
func TestUpWait(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-wait"))

	r := c.run("up", "--wait", "ok", "plain")
	if r.code != 0 {
		t.Fatalf("up --wait of a healthy stack: %s", r)
	}
	st := c.states()
	if st["ci-wait-ok-1"] != "running" || st["ci-wait-plain-1"] != "running" {
		t.Errorf("after up --wait: %v", st)
	}
	if out := c.must("ps", "ok").stdout; !strings.Contains(out, "(healthy)") {
		t.Errorf("up --wait returned before ok was healthy:\n%s", out)
	}
	if !strings.Contains(r.stderr, "ci-wait-ok-1 Healthy") {
		t.Errorf("no Healthy progress line:\n%s", r.stderr)
	}

	if r := c.run("up", "--wait", "--wait-timeout", "30", "after"); r.code != 0 {
		t.Errorf("up --wait with a completed one-shot dependency: %s", r)
	}

	failures := []struct {
		service, timeout, want string
	}{
		{"bad", "30", "container ci-wait-bad-1 is unhealthy"},
		{"crash", "30", "container ci-wait-crash-1 exited (1)"},
		{"slow", "2", "application not healthy after 2s: container ci-wait-slow-1 is still starting"},
	}
	for _, f := range failures {
		began := time.Now()
		r := c.run("up", "--wait", "--wait-timeout", f.timeout, f.service)
		if r.code == 0 || !strings.Contains(r.stderr, f.want) {
			t.Errorf("up --wait %s: want a failure with %q, got %s", f.service, f.want, r)
		}
		if took := time.Since(began); f.service == "slow" && took > 10*time.Second {
			t.Errorf("up --wait --wait-timeout 2 took %s", took)
		}
	}

	for _, args := range [][]string{
		{"up", "--wait", "--abort-on-container-exit"},
		{"up", "--wait", "--attach", "ok"},
	} {
		r := c.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, "--wait cannot be combined with") {
			t.Errorf("%v: %s", args, r)
		}
	}
}

// TestCIExample: examples/ci run the CI way returns the test container's
// exit code and leaves every container exited.
func TestCIExample(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "examples", "ci"))
	for _, tc := range []struct {
		expect string
		code   int
		line   string
	}{
		{"", 0, "test-1  | PASS: rows: 3"},
		{"rows: 4", 3, "test-1  | FAIL: got 'rows: 3', want 'rows: 4'"},
	} {
		c.env = []string{"COMPOSE_ROOT=" + c.root}
		if tc.expect != "" {
			c.env = append(c.env, "EXPECT="+tc.expect)
		}
		r := c.run("up", "--no-color", "--exit-code-from", "test")
		if r.code != tc.code {
			t.Errorf("EXPECT=%q up --exit-code-from test: want exit %d, got %s", tc.expect, tc.code, r)
		}
		for _, want := range []string{tc.line, "Aborting on container exit...", "app-1   | app serving rows: 3"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("EXPECT=%q: output lacks %q:\n%s", tc.expect, want, r)
			}
		}
		for name, state := range c.states() {
			if state != "exited" {
				t.Errorf("EXPECT=%q: %s is %s after the test exited", tc.expect, name, state)
			}
		}
	}
}

// TestAbortOnContainerExit covers --abort-on-container-exit,
// --abort-on-container-failure, --exit-code-from and the flag checks.
func TestAbortOnContainerExit(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-abort"))

	// Any exit stops the services named on the command line (all when
	// none), not the dependencies up started for them: Docker Compose's
	// stopApplication stops "Services: u.options.Create.Services"
	// (pkg/compose/up.go; docker/compose#13223). up returns the code of
	// the one that exited.
	for _, tc := range []struct {
		args   []string
		code   int
		longUp bool // long, a dependency not named, keeps running
	}{
		{[]string{"--abort-on-container-exit", "ok"}, 0, true},
		{[]string{"--abort-on-container-exit", "fail"}, 5, true},
		{[]string{"--abort-on-container-failure", "fail"}, 5, true},
		{[]string{"--exit-code-from", "fail", "fail"}, 5, true},
		{[]string{"--exit-code-from", "long", "fail", "long"}, 0, false}, // long is stopped: its TERM trap exits 0
	} {
		r := c.run(append([]string{"up", "--no-color"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stdout, "Aborting on container exit...") {
			t.Errorf("up %v: want exit %d after aborting, got %s", tc.args, tc.code, r)
		}
		for name, state := range c.states() {
			want := "exited"
			if name == "ci-abort-long-1" && tc.longUp {
				want = "running"
			}
			if state != want {
				t.Errorf("up %v: %s is %s, want %s", tc.args, name, state, want)
			}
		}
	}

	// --abort-on-container-failure ignores an exit with code 0.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s := c.start(ctx, "up", "--no-color", "--abort-on-container-failure", "ok", "long")
	s.waitOut(t, 30*time.Second, "ok-1 exited with code 0", 1)
	if st := c.states()["ci-abort-long-1"]; st != "running" {
		t.Errorf("long is %s after ok exited 0 under --abort-on-container-failure\n%s", st, s)
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.exit(t, 30*time.Second); code != 130 {
		t.Errorf("Ctrl-C: exit %d\n%s", code, s)
	}
	if s.count("Aborting") != 0 {
		t.Errorf("aborted on a zero exit:\n%s", s)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-d", "--abort-on-container-exit"}, "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"},
		{[]string{"-d", "--exit-code-from", "ok"}, "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"},
		{[]string{"--exit-code-from", "nosuch"}, "no such service: nosuch"},
		{[]string{"--abort-on-container-exit", "--abort-on-container-failure"}, "--abort-on-container-failure cannot be combined with --abort-on-container-exit"},
		{[]string{"--attach", "ok", "--attach-dependencies"}, "cannot combine --attach and --attach-dependencies"},
		{[]string{"--attach", "nosuch"}, "cannot attach to services not included in up: nosuch"},
	} {
		r := c.run(append([]string{"up"}, tc.args...)...)
		if r.code != 1 || strings.TrimSpace(r.stderr) != tc.want {
			t.Errorf("up %v: want exit 1 with %q, got %s", tc.args, tc.want, r)
		}
	}
}

// TestUpAttachSelection: --attach, --no-attach and --attach-dependencies
// choose whose logs an attached up prints; dependencies are not attached
// by default when services are named.
func TestUpAttachSelection(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-abort"))
	for _, tc := range []struct {
		args     []string
		has, not []string
	}{
		{[]string{"ok"}, []string{"ok-1  | ok done", "Attaching to ok-1\n"}, []string{"long-1  |"}},
		{[]string{"--attach-dependencies", "ok"}, []string{"ok-1    | ok done", "long-1  | long up"}, nil},
		{[]string{"--no-attach", "long", "ok", "long"}, []string{"ok-1  | ok done"}, []string{"long-1  |"}},
		{[]string{"--attach", "ok", "ok", "long"}, []string{"ok-1  | ok done"}, []string{"long-1  |"}},
		{[]string{"--no-log-prefix", "--timestamps", "ok"}, []string{"Z ok done"}, []string{"ok-1    |"}},
	} {
		// The abort stops only the named services: long, left running
		// by the last case, is stopped so up starts it (and prints it) anew.
		c.must("stop", "-t", "1")
		args := append([]string{"up", "--no-color", "--abort-on-container-exit", "--menu"}, tc.args...)
		r := c.run(args...)
		if r.code != 0 {
			t.Errorf("%v: %s", args, r)
			continue
		}
		for _, want := range tc.has {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, r.stdout)
			}
		}
		for _, bad := range tc.not {
			if strings.Contains(r.stdout, bad) {
				t.Errorf("%v: output has %q:\n%s", args, bad, r.stdout)
			}
		}
	}
	// --no-color: no escape codes; colour by default only with --ansi always.
	if r := c.run("--ansi", "always", "up", "--abort-on-container-exit", "ok"); !strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("--ansi always: no colours:\n%q", r.stdout)
	}
	if r := c.run("--ansi", "always", "up", "--no-color", "--abort-on-container-exit", "ok"); strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("--no-color: colours:\n%q", r.stdout)
	}
}

// TestCtrlCWithRestartAlways: Ctrl-C stops restart: always containers
// gracefully (one crash-looping) and never hangs; two Ctrl-C end it at once.
// The attached up keeps printing a container's output across its restarts.
func TestCtrlCWithRestartAlways(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-restart"))
	for _, presses := range []int{1, 2} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		s := c.start(ctx, "up", "--no-color")
		s.waitOut(t, 30*time.Second, "flappy-1  | flap", 2) // followed through a restart
		s.waitOut(t, 30*time.Second, "flappy-1 exited with code 1", 1)
		s.waitOut(t, 30*time.Second, "steady-1  | steady v=1", 1)
		began := time.Now()
		for range presses {
			s.cmd.Process.Signal(syscall.SIGINT)
		}
		if code := s.exit(t, 20*time.Second); code != 130 {
			t.Errorf("%d Ctrl-C: exit %d\n%s", presses, code, s)
		}
		if took := time.Since(began); took > 8*time.Second {
			t.Errorf("%d Ctrl-C took %s", presses, took)
		}
		if presses == 1 && !strings.Contains(s.String(), "Gracefully stopping... (press Ctrl+C again to force)") {
			t.Errorf("no graceful stop notice:\n%s", s)
		}
		for name, state := range c.states() {
			if state != "exited" {
				t.Errorf("%d Ctrl-C: %s is %s", presses, name, state)
			}
		}
		cancel()
	}
}

// TestLogsFollowRestartAndRecreate: `logs -f` keeps following a container
// through its restarts, and follows the new container when its service is
// recreated.
func TestLogsFollowRestartAndRecreate(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-restart"))
	c.must("up", "-d")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// --tail 0: only lines written from now on, so two "flap" lines mean
	// at least one restart was followed.
	flaps := c.start(ctx, "logs", "-f", "--tail", "0", "--no-color", "flappy")
	flaps.waitOut(t, 30*time.Second, "flappy-1  | flap", 2)

	steady := c.start(ctx, "logs", "-f", "--no-color", "steady")
	steady.waitOut(t, 30*time.Second, "steady-1  | steady v=1", 1)
	c.env = append(c.env, "V=2")
	c.must("up", "-d", "steady") // config changed: a new container
	steady.waitOut(t, 30*time.Second, "steady-1  | steady v=2", 1)

	c.must("stop", "-t", "1")
	for _, s := range []*stream{flaps, steady} {
		if code := s.exit(t, 30*time.Second); code != 0 {
			t.Errorf("logs -f after stop: exit %d\n%s", code, s)
		}
	}
}

// TestProfilesOnUp: a service whose profile is not active is left out,
// unless --profile or COMPOSE_PROFILES enables it or it is named.
func TestProfilesOnUp(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-wait"))
	c.dir = t.TempDir()
	yaml := "name: ciprof\nservices:\n  web:\n    image: busybox\n    command: sleep 60\n  dbg:\n    image: busybox\n    command: sleep 60\n    profiles: [debug]\n"
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	has := func() map[string]bool {
		out := map[string]bool{}
		for name := range c.states() {
			out[name] = true
		}
		return out
	}
	c.must("up", "-d")
	if got := has(); !got["ciprof-web-1"] || got["ciprof-dbg-1"] {
		t.Errorf("no profile: %v", got)
	}
	c.must("up", "-d", "dbg")
	if !has()["ciprof-dbg-1"] {
		t.Error("a named service was not enabled past its profile")
	}
	c.must("down", "-t", "0")
	c.must("--profile", "debug", "up", "-d")
	if !has()["ciprof-dbg-1"] {
		t.Error("--profile debug did not enable dbg")
	}
	c.must("down", "-t", "0")
	c.env = append(c.env, "COMPOSE_PROFILES=debug")
	c.must("up", "-d")
	if !has()["ciprof-dbg-1"] {
		t.Error("COMPOSE_PROFILES=debug did not enable dbg")
	}
}

// BenchmarkCIRun: one CI run of examples/ci, `up --exit-code-from test`
// (create, start, test, stop everything) and then `down`.
func BenchmarkCIRun(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	b.Cleanup(func() { os.RemoveAll(engine.RunDir(root)) })
	dir := filepath.Join(repoRoot, "examples", "ci")
	run := func(args ...string) {
		if out, err := composeCmd(root, dir, args...).CombinedOutput(); err != nil {
			b.Fatalf("compose %v: %v\n%s", args, err, out)
		}
	}
	run("image", "load", "-i", busyboxImage)
	b.Cleanup(func() { composeCmd(root, dir, "down", "-t", "0").Run() })
	var up time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run("--progress", "quiet", "up", "--exit-code-from", "test")
		up += time.Since(start)
		run("--progress", "quiet", "down", "-t", "0")
	}
	b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "up-ms/op")
}

// TestUpFollowsRecreation: an attached up keeps printing a service's output
// when another compose recreates its container or restarts it.
func TestUpFollowsRecreation(t *testing.T) {
	t.Parallel()
	c := ciProject(t, filepath.Join(repoRoot, "e2e", "testdata", "ci-restart"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s := c.start(ctx, "up", "--no-color", "steady")
	s.waitOut(t, 30*time.Second, "steady-1  | steady v=1", 1)
	c.env = append(c.env, "V=2")
	c.must("up", "-d", "steady")
	s.waitOut(t, 30*time.Second, "steady-1  | steady v=2", 1)
	c.must("restart", "-t", "1", "steady") // the same container, started again
	s.waitOut(t, 30*time.Second, "steady-1  | steady v=2", 2)
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.exit(t, 30*time.Second); code != 130 {
		t.Errorf("Ctrl-C: exit %d\n%s", code, s)
	}
	for name, state := range c.states() {
		if state != "exited" {
			t.Errorf("%s is %s after Ctrl-C", name, state)
		}
	}
}
