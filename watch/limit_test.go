package watch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWatchLimits runs out of inotify watches and instances for real, in
// a user namespace of its own (whose limits are its own, so the host's
// other watchers are not affected), and checks the error names the sysctl
// to raise.
func TestWatchLimits(t *testing.T) {
	if limit := os.Getenv("WATCH_TEST_LIMIT"); limit != "" {
		limitChild(t, limit)
		return
	}
	for _, limit := range []string{"watches", "instances"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWatchLimits$", "-test.v")
		cmd.Env = append(os.Environ(), "WATCH_TEST_LIMIT="+limit)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
		out, err := cmd.CombinedOutput()
		if err != nil && os.Geteuid() != 0 && errors.Is(err, syscall.EPERM) {
			t.Skip("user namespaces are not allowed to this user")
		}
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Errorf("%s limit: %v\n%s", limit, err, out)
		}
	}
}

// limitChild runs in the user namespace: it lowers its limit, then watches.
func limitChild(t *testing.T, limit string) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "c", "d"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	sysctl, value, want := "/proc/sys/user/max_inotify_watches", "2", "raise it with `sysctl fs.inotify.max_user_watches=524288`"
	if limit == "instances" {
		sysctl, value, want = "/proc/sys/user/max_inotify_instances", "0", "raise the limit with `sysctl fs.inotify.max_user_instances=1024`"
	}
	if err := os.WriteFile(sysctl, []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := New([]string{dir}, nil)
	if err == nil {
		w.Close()
		t.Fatalf("watching 5 directories with the %s limit at %s worked", limit, value)
	}
	if !errors.Is(err, ErrWatchLimit) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say to %s", err, want)
	}
	t.Log(err)
}
