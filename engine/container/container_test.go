package container

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store/jsonfile"
	"github.com/composer-dev/compose/internal/testutil"
)

func TestOutputAndExitCodes(t *testing.T) {
	testutil.RequiresRoot(t)
	tests := []struct {
		name   string
		script string
		code   int
		stdout string
		stderr string
	}{
		{"echo", "echo hello", 0, "hello\n", ""},
		{"stderr", "echo oops >&2; exit 3", 3, "", "oops\n"},
		{"false", "false", 1, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "sh", "-c", tt.script)
			st := run(t, rt, spec)
			if st.Status != StatusExited || st.ExitCode != tt.code {
				t.Errorf("state = %+v, want exited with %d", st, tt.code)
			}
			if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
				t.Errorf("times: started %v finished %v", st.StartedAt, st.FinishedAt)
			}
			if got := readLog(t, spec.Dir, "stdout"); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			if got := readLog(t, spec.Dir, "stderr"); got != tt.stderr {
				t.Errorf("stderr = %q, want %q", got, tt.stderr)
			}
			if _, err := os.Stat(filepath.Join(spec.Dir, "cleanup.done")); err != nil {
				t.Errorf("Cleanup hook did not run: %v", err)
			}
		})
	}
}

func TestProcessConfig(t *testing.T) {
	testutil.RequiresRoot(t)
	extra := filepath.Join(t.TempDir(), "extra.txt")
	if err := os.WriteFile(extra, []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		script string
		edit   func(*Spec)
		want   string
	}{
		{"env", "echo $FOO $HOSTNAME", func(s *Spec) { s.Env = []string{"FOO=bar"}; s.Hostname = "h1" }, "bar h1\n"},
		{"default path and home", "echo $PATH $HOME", nil, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /root\n"},
		{"cwd", "pwd", func(s *Spec) { s.Cwd = "/tmp" }, "/tmp\n"},
		{"default cwd", "pwd", nil, "/\n"},
		{"user nobody", "id -u; id -g", func(s *Spec) { s.User = "nobody" }, "65534\n65534\n"},
		{"user uid:gid", "id -u; id -g", func(s *Spec) { s.User = "1000:1001" }, "1000\n1001\n"},
		{"root", "id -u", nil, "0\n"},
		{"hostname", "hostname", func(s *Spec) { s.Hostname = "web-1" }, "web-1\n"},
		{"default hostname is short id", "hostname", func(s *Spec) { s.ID = strings.Repeat("ab", 32) }, "abababababab\n"},
		{"bind mount", "cat /etc/extra.txt", func(s *Spec) { s.Mounts = []Mount{{Source: extra, Destination: "/etc/extra.txt", ReadOnly: true}} }, "from the host\n"},
		{"read-only bind mount", "echo x > /etc/extra.txt || echo denied", func(s *Spec) { s.Mounts = []Mount{{Source: extra, Destination: "/etc/extra.txt", ReadOnly: true}} }, "denied\n"},
		{"fresh netns has only lo", "grep -c : /proc/net/dev; grep -o lo: /proc/net/dev", nil, "1\nlo:\n"},
		{"rootfs is writable", "echo hi > /tmp/f && cat /tmp/f", nil, "hi\n"},
		{"masked path", "cat /proc/kcore | wc -c", nil, "0\n"},
		{"readonly proc sys", "echo 1 > /proc/sys/kernel/domainname || echo ro", nil, "ro\n"},
		{"pid 1", "echo $$", nil, "1\n"},
		// /dev/fuse needs no capability to open: only the device cgroup stops it.
		{"device cgroup denies other devices", "mknod /tmp/fuse c 10 229 && mknod /tmp/null c 1 3 && echo x > /tmp/null && cat /tmp/fuse 2>&1 | grep -o \"can't open\"", nil, "can't open\n"},
		{"docker caps for root", "grep -E 'Cap(Eff|Bnd)' /proc/self/status", nil, "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n"},
		{"no effective caps for non-root", "grep -E 'Cap(Eff|Bnd)' /proc/self/status", func(s *Spec) { s.User = "nobody" }, "CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n"},
		{"devices", "ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/shm /dev/mqueue /dev/pts", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "sh", "-c", tt.script)
			if tt.edit != nil {
				tt.edit(&spec)
			}
			st := run(t, rt, spec)
			if st.ExitCode != 0 {
				t.Errorf("exit code %d; stderr %q", st.ExitCode, readLog(t, spec.Dir, "stderr"))
			}
			if got := readLog(t, spec.Dir, "stdout"); tt.want != "" && got != tt.want {
				t.Errorf("stdout = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKillAndStop(t *testing.T) {
	testutil.RequiresRoot(t)
	tests := []struct {
		name    string
		script  string
		stop    func(ctx context.Context, rt *Runtime, dir string) error
		code    int
		minTime time.Duration
	}{
		{"SIGKILL", "sleep 100", func(ctx context.Context, rt *Runtime, dir string) error {
			return rt.Kill(ctx, dir, syscall.SIGKILL)
		}, 137, 0},
		{"stop with trap exits on SIGTERM", `trap "exit 143" TERM; sleep 100 & wait`, func(ctx context.Context, rt *Runtime, dir string) error {
			return rt.Stop(ctx, dir, 10*time.Second)
		}, 143, 0},
		// pid 1 without a handler ignores SIGTERM (as with Docker): SIGKILL after the timeout.
		{"stop ignoring SIGTERM", "sleep 100", func(ctx context.Context, rt *Runtime, dir string) error {
			return rt.Stop(ctx, dir, 300*time.Millisecond)
		}, 137, 300 * time.Millisecond},
		{"stop signal", `trap "exit 7" USR1; sleep 100 & wait`, func(ctx context.Context, rt *Runtime, dir string) error {
			return rt.Stop(ctx, dir, 10*time.Second)
		}, 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "sh", "-c", tt.script)
			spec.StopSignal = "SIGUSR1"
			if !strings.Contains(tt.script, "USR1") {
				spec.StopSignal = ""
			}
			if err := rt.Start(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			st, err := ReadState(spec.Dir)
			if err != nil || st.Status != StatusRunning || st.Pid == 0 {
				t.Fatalf("after start: %+v, %v", st, err)
			}
			// Give sh time to set its trap: wait until it runs sleep.
			testutil.Eventually(t, 10*time.Second, "sleep to start", func() bool {
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/task/" + strconv.Itoa(st.Pid) + "/children")
				return len(strings.Fields(string(b))) > 0 || !strings.Contains(tt.script, "trap")
			})
			begin := time.Now()
			if err := tt.stop(t.Context(), rt, spec.Dir); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			st, err = rt.Wait(ctx, spec.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != StatusExited || st.ExitCode != tt.code {
				t.Errorf("state = %+v, want exited %d; stderr %q", st, tt.code, readLog(t, spec.Dir, "stderr"))
			}
			if d := time.Since(begin); d < tt.minTime {
				t.Errorf("stopped after %v, before the %v timeout", d, tt.minTime)
			}
			// Stopping or waiting again is a no-op; killing is an error.
			if err := rt.Stop(t.Context(), spec.Dir, time.Second); err != nil {
				t.Errorf("second stop: %v", err)
			}
			if err := rt.Kill(t.Context(), spec.Dir, syscall.SIGKILL); !errors.Is(err, errdefs.ErrFailedPrecondition) {
				t.Errorf("kill of exited container: %v, want ErrFailedPrecondition", err)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	testutil.RequiresRoot(t)
	tests := []struct {
		name  string
		edit  func(*Spec)
		want  string
		code  int
		class error
	}{
		{"missing executable", func(s *Spec) { s.Args = []string{"foo"} }, `exec: "foo": executable file not found in $PATH`, 127, nil},
		{"unknown user", func(s *Spec) { s.User = "nobody2" }, "unable to find user nobody2: no matching entries in passwd file", 128, nil},
		{"prepare fails", func(s *Spec) {
			if err := os.WriteFile(filepath.Join(s.Dir, "fail-prepare"), []byte("no network for you"), 0o644); err != nil {
				panic(err)
			}
		}, "no network for you", 128, nil},
		{"invalid id", func(s *Spec) { s.ID = "a/b" }, "", 0, errdefs.ErrInvalidArgument},
		{"no command", func(s *Spec) { s.Args = nil }, "", 0, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "true")
			tt.edit(&spec)
			err := rt.Start(t.Context(), spec)
			if err == nil {
				t.Fatal("start succeeded")
			}
			if tt.class != nil {
				if !errors.Is(err, tt.class) {
					t.Fatalf("err = %v, want class %v", err, tt.class)
				}
				return
			}
			var se *StartError
			if !errors.As(err, &se) || err.Error() != tt.want || se.ExitCode != tt.code {
				t.Fatalf("err = %q (%#v), want %q with exit code %d", err, err, tt.want, tt.code)
			}
			st, err := ReadState(spec.Dir)
			if err != nil || live(st) || st.Error != tt.want {
				t.Errorf("state after failed start = %+v, %v", st, err)
			}
			if left := leftovers(spec.Dir, spec.ID); len(left) > 0 {
				t.Errorf("left behind after failed start: %v", left)
			}
			if _, err := os.Stat(filepath.Join(libcontainerRoot(rt.RunDir), spec.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("libcontainer state left after failed start: %v", err)
			}
			if _, err := os.Stat(filepath.Join(spec.Dir, "cleanup.done")); err != nil && tt.name != "prepare fails" {
				t.Errorf("Cleanup hook did not run after failed start")
			}
		})
	}
}

// TestRestart starts an exited container again: its filesystem persists.
func TestRestart(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh", "-c", "echo run >> /count; cat /count | wc -l")
	for i := 1; i <= 2; i++ {
		if st := run(t, rt, spec); st.ExitCode != 0 {
			t.Fatalf("run %d: %+v", i, st)
		}
	}
	if got := readLog(t, spec.Dir, "stdout"); got != "1\n2\n" {
		t.Errorf("stdout = %q, want the upper dir kept between runs", got)
	}
}

func TestRemove(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(spec.Dir, spec.ID); len(left) == 0 {
		t.Fatal("leftovers() found nothing of a running container: the check is broken")
	}
	if err := rt.Remove(t.Context(), spec.Dir); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("remove of running container: %v, want ErrConflict", err)
	}
	if err := rt.Stop(t.Context(), spec.Dir, 0); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(t.Context(), spec.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spec.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir still there: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "nothing left", func() bool { return len(leftovers(spec.Dir, spec.ID)) == 0 })
	if _, err := os.Stat(filepath.Join(libcontainerRoot(rt.RunDir), spec.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("libcontainer state left: %v", err)
	}
}

// TestSupervisorOutlivesCaller starts the container from a helper process
// that exits at once; the container keeps running under its supervisor.
func TestSupervisorOutlivesCaller(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh", "-c", "sleep 100")
	if err := jsonfile.Write(filepath.Join(spec.Dir, specFile), savedSpec{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), rt.Exe, "__start_and_exit", rt.Exe, rt.Supervisor, rt.RunDir, spec.Dir).CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	st, err := ReadState(spec.Dir)
	if err != nil || st.Status != StatusRunning {
		t.Fatalf("state after the caller exited: %+v, %v", st, err)
	}
	if ppid := parentOf(st.SupervisorPid); ppid == os.Getpid() {
		t.Errorf("supervisor is our child")
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(st.SupervisorPid) + "/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "Threads") {
				t.Logf("supervisor %s", l)
			}
		}
	}
	if err := rt.Kill(t.Context(), spec.Dir, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st, err = rt.Wait(t.Context(), spec.Dir)
	if err != nil || st.ExitCode != 137 {
		t.Fatalf("after kill: %+v, %v", st, err)
	}
}

// TestSupervisorKilled: a supervisor killed with SIGKILL takes its
// container with it; the state reads exited 255 and Remove cleans up.
func TestSupervisorKilled(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	st, _ := ReadState(spec.Dir)
	if st.SupervisorPid <= 1 { // kill(0) or kill(-1) would hit the test itself
		t.Fatalf("no supervisor pid in state: %+v", st)
	}
	if err := syscall.Kill(st.SupervisorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := rt.Wait(ctx, spec.Dir)
	if err != nil || st.Status != StatusExited || st.ExitCode != 255 {
		t.Fatalf("state = %+v, %v; want exited 255", st, err)
	}
	testutil.Eventually(t, 10*time.Second, "container init to die", func() bool { return procStart(st.Pid) == 0 || st.Pid == 0 })
	if err := rt.Remove(t.Context(), spec.Dir); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "nothing left", func() bool { return len(leftovers(spec.Dir, spec.ID)) == 0 })
}

// TestRepairAfterSupervisorKilled: what the run of a killed supervisor
// holds (processes, mounts, cgroup, libcontainer state, the Cleanup hook's
// network) is torn down by Repair, or else by the next start; a container
// that runs is never repaired.
func TestRepairAfterSupervisorKilled(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	hooks := testHooks(spec.Dir)
	done := filepath.Join(spec.Dir, "cleanup.done")
	kill := func() {
		t.Helper()
		if err := rt.Start(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
		if fixed, err := rt.Repair(t.Context(), spec.Dir, hooks); fixed || err != nil {
			t.Fatalf("Repair of a running container: %v, %v", fixed, err)
		}
		st, _ := ReadState(spec.Dir)
		if st.SupervisorPid <= 1 {
			t.Fatalf("no supervisor pid in state: %+v", st)
		}
		if err := syscall.Kill(st.SupervisorPid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the supervisor to die", func() bool { return procStart(st.SupervisorPid) == 0 })
		if err := os.Remove(done); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}

	kill()
	if st, err := ReadState(spec.Dir); err != nil || st.Status != StatusExited || st.ExitCode != 255 {
		t.Fatalf("state after the kill: %+v, %v", st, err)
	}
	if !NeedsRepair(spec.Dir) {
		t.Fatal("NeedsRepair is false after the supervisor was killed")
	}
	fixed, err := rt.Repair(t.Context(), spec.Dir, hooks)
	if !fixed || err != nil {
		t.Fatalf("Repair = %v, %v", fixed, err)
	}
	if left := leftovers(spec.Dir, spec.ID); len(left) > 0 {
		t.Errorf("left after Repair: %v", left)
	}
	if _, err := os.Stat(filepath.Join(libcontainerRoot(rt.RunDir), spec.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("libcontainer state left: %v", err)
	}
	if !fileExists(done) {
		t.Error("Repair did not run the Cleanup hook")
	}
	if NeedsRepair(spec.Dir) {
		t.Error("NeedsRepair after Repair")
	}
	if fixed, err := rt.Repair(t.Context(), spec.Dir, hooks); fixed || err != nil {
		t.Errorf("second Repair = %v, %v", fixed, err)
	}

	// Without a repair, the next start clears what the dead run holds.
	kill()
	if st, err := ReadState(spec.Dir); err != nil || st.Status != StatusExited {
		t.Fatalf("state after the second kill: %+v, %v", st, err)
	}
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatalf("start after a killed supervisor: %v", err)
	}
	if !fileExists(done) || NeedsRepair(spec.Dir) {
		t.Errorf("the start did not repair: cleanup hook ran %v, needs repair %v", fileExists(done), NeedsRepair(spec.Dir))
	}
	if st, err := ReadState(spec.Dir); err != nil || st.Status != StatusRunning {
		t.Fatalf("state after the start: %+v, %v", st, err)
	}
}

// TestRepairFailureIsRetried: a repair whose Cleanup hook fails (a full
// disk) stays marked, and the next one finishes it.
func TestRepairFailureIsRetried(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	st, _ := ReadState(spec.Dir)
	if st.SupervisorPid <= 1 {
		t.Fatalf("no supervisor pid in state: %+v", st)
	}
	if err := syscall.Kill(st.SupervisorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the supervisor to die", func() bool { return procStart(st.SupervisorPid) == 0 })
	failing := Hooks{Cleanup: func(context.Context, *Spec) error { return errors.New("no space left on device") }}
	if fixed, err := rt.Repair(t.Context(), spec.Dir, failing); !fixed || err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("failing Repair = %v, %v", fixed, err)
	}
	if !NeedsRepair(spec.Dir) {
		t.Fatal("a failed repair is not marked any more")
	}
	if fixed, err := rt.Repair(t.Context(), spec.Dir, testHooks(spec.Dir)); !fixed || err != nil {
		t.Fatalf("Repair once the cause is gone = %v, %v", fixed, err)
	}
	if NeedsRepair(spec.Dir) {
		t.Error("still marked after a repair that worked")
	}
}

// TestIfStopped: fn runs for a stopped container only.
func TestIfStopped(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sleep", "100")
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	ran := false
	if ok, err := IfStopped(t.Context(), spec.Dir, func() error { ran = true; return nil }); ok || ran || err != nil {
		t.Fatalf("IfStopped of a running container: %v %v %v", ok, ran, err)
	}
	if err := rt.Stop(t.Context(), spec.Dir, 0); err != nil {
		t.Fatal(err)
	}
	want := errors.New("fn's error")
	if ok, err := IfStopped(t.Context(), spec.Dir, func() error { ran = true; return want }); !ok || !ran || err != want {
		t.Fatalf("IfStopped of a stopped container: %v %v %v", ok, ran, err)
	}
	if ok, err := IfStopped(t.Context(), filepath.Join(spec.Dir, "gone"), func() error { return want }); ok || err != nil {
		t.Fatalf("IfStopped of a missing dir: %v %v", ok, err)
	}
}

func TestManyLayers(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh", "-c", "cat /which /layer0 /layer79")
	// Long paths, as an image store's sha256 dirs are: 80 of them exceed a page.
	base := filepath.Join(t.TempDir(), strings.Repeat("d", 40))
	for i := range 80 {
		l := filepath.Join(base, newID(t))
		if err := os.MkdirAll(l, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"which": strconv.Itoa(i), "layer" + strconv.Itoa(i): "x"} {
			if err := os.WriteFile(filepath.Join(l, name), []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		spec.Lower = append(spec.Lower, l)
	}
	if n := len(overlayData(spec.Lower, "u", "w")); n <= maxMountData {
		t.Fatalf("options are %d bytes: the test does not exercise the short form", n)
	}
	st := run(t, rt, spec)
	if got := readLog(t, spec.Dir, "stdout"); st.ExitCode != 0 || got != "79\nx\nx\n" {
		t.Fatalf("exit %d, stdout %q (top layer must win), stderr %q", st.ExitCode, got, readLog(t, spec.Dir, "stderr"))
	}
}

func parentOf(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}
