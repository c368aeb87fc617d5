package container

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/internal/store"
)

// A run is set up (its leftovers cleared, its network connected) under
// an exclusive lock on the container's directory, which Repair and
// IfStopped take too: they never tear down or release what a start is
// setting up, nor does a start begin while they work.

// Repair tears down what a run whose supervisor died (killed, or the host
// rebooted) left behind: its processes, cgroup, libcontainer state, rootfs
// mounts and, through hooks.Cleanup, its network. ReadState notices such a
// run (it reports it exited at once) and marks it; Repair does the slower
// part, so commands that change the container call it first. It reports
// whether there was anything to repair; a failed repair (the Cleanup
// hook's error) is tried again by the next call, or by the next start.
func (*Runtime) Repair(ctx context.Context, dir string, hooks Hooks) (bool, error) {
	if !NeedsRepair(dir) {
		return false, nil
	}
	saved, err := readSaved(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // removed meanwhile
	}
	if err != nil {
		return false, err
	}
	cr := &creator{spec: &saved.Spec, dir: dir, root: libcontainerRoot(saved.RunDir), hooks: hooks}
	l, err := store.LockDir(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer l.Unlock()
	if st, err := ReadState(dir); err != nil || live(st) {
		return false, nil // started again meanwhile: its start repaired it
	}
	return cr.repairLocked(ctx)
}

// NeedsRepair reports whether the container in dir holds what a dead
// supervisor left behind (it reads the state, which notices the death).
func NeedsRepair(dir string) bool {
	if _, err := ReadState(dir); err != nil {
		return false
	}
	return fileExists(repairFile(dir))
}

// repairLocked tears down the run marked for repair, if it still is; the
// caller holds the directory's lock.
func (cr *creator) repairLocked(ctx context.Context) (bool, error) {
	mark := repairFile(cr.dir)
	if !fileExists(mark) {
		return false, nil // repaired meanwhile
	}
	if err := cr.teardown(ctx, nil, true); err != nil {
		return true, err
	}
	if err := os.Remove(mark); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, err
	}
	return true, nil
}

func repairFile(dir string) string { return filepath.Join(dir, supervisor.RepairFile) }

// IfStopped runs fn unless the container in dir is live, and holds off the
// container's next start meanwhile: fn may release what a stopped run
// still holds (a network endpoint, a published port) without racing a new
// run that sets up the same. It reports whether fn ran; a directory that
// is gone runs nothing.
func IfStopped(ctx context.Context, dir string, fn func() error) (bool, error) {
	l, err := store.LockDir(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer l.Unlock()
	if st, err := ReadState(dir); err == nil && live(st) {
		return false, nil
	}
	return true, fn()
}

// RemovePending reports whether the container's last run left its
// teardown to a removal (`down`) that has not happened yet: it still
// holds its network.
func RemovePending(dir string) bool {
	return fileExists(filepath.Join(dir, supervisor.RemoveFile))
}

// StoppedByUser reports whether the container's last run ended because the
// user stopped (or killed) it, rather than on its own or with its
// supervisor: a restart policy of unless-stopped keeps it down then. The
// mark outlives reboots; the next start clears it.
func StoppedByUser(dir string) bool {
	return fileExists(filepath.Join(dir, supervisor.StopFile))
}
