package supervisor

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitStatus waits (with a deadline) for an exit reported by the reaper.
func waitStatus(t *testing.T, ch <-chan unix.WaitStatus) unix.WaitStatus {
	t.Helper()
	select {
	case ws := <-ch:
		return ws
	case <-time.After(10 * time.Second):
		t.Fatal("no exit reported")
		return 0
	}
}

// TestReaperStart: a child started through the reaper is reaped as soon as
// it exits (pidfd), well before the orphan sweep, with its exit status.
func TestReaperStart(t *testing.T) {
	r := newReaper()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	begin := time.Now()
	_, done, err := r.start([]string{sh, "-c", "exit 3"}, []*os.File{null, null, null})
	if err != nil {
		t.Fatal(err)
	}
	ws := waitStatus(t, done)
	if got := exitCode(ws); got != 3 {
		t.Fatalf("exit code %d, want 3", got)
	}
	if !r.sigchld && time.Since(begin) >= orphanSweep {
		t.Fatalf("reaped after %v: the pidfd did not wake the reaper", time.Since(begin))
	}
}

// TestReaperWatch: a process started elsewhere and watched later (as the
// container's init is) is reaped with its signal.
func TestReaperWatch(t *testing.T) {
	r := newReaper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep:", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	ch := r.watch(pid)
	killPid(pid, unix.SIGKILL)
	ws := waitStatus(t, ch)
	if got := exitCode(ws); got != 128+int(unix.SIGKILL) {
		t.Fatalf("exit code %d, want %d", got, 128+int(unix.SIGKILL))
	}
}
