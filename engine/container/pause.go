package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/composer-dev/compose/errdefs"
)

// StatusPaused is reported (by the engine) for a running container whose
// processes are frozen.
const StatusPaused Status = "paused"

// Pause freezes every process of the running container (cgroup freezer).
func (r *Runtime) Pause(ctx context.Context, dir string) error {
	spec, c, err := r.loadLive(dir)
	if err != nil {
		return err
	}
	if s, _ := c.Status(); s == libcontainer.Paused {
		return fmt.Errorf("container %s is already paused: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
	}
	if err := c.Pause(); err != nil {
		return fmt.Errorf("container %s: pause: %w", spec.DisplayName(), err)
	}
	// For watchers (`events`): a freezer's state raises no inotify event on cgroup v1.
	_ = os.WriteFile(filepath.Join(dir, PausedFileName), nil, 0o600)
	return nil
}

// Resume thaws a paused container.
func (r *Runtime) Resume(ctx context.Context, dir string) error {
	spec, c, err := r.loadLive(dir)
	if err != nil {
		return err
	}
	if err := c.Resume(); err != nil {
		if errors.Is(err, libcontainer.ErrNotPaused) {
			return fmt.Errorf("container %s is not paused: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
		}
		return fmt.Errorf("container %s: unpause: %w", spec.DisplayName(), err)
	}
	_ = os.Remove(filepath.Join(dir, PausedFileName))
	return nil
}

// Paused reports whether the container in dir runs and is frozen, without
// loading libcontainer's state: `ps` asks this of every running container.
func (r *Runtime) Paused(dir string) bool {
	st, err := readStateFile(dir)
	if err != nil || st.Status != StatusRunning {
		return false
	}
	return Frozen(st.Pid)
}

// PausedRun is the cheap Paused for displays (`ps` asks it of every
// running container): only a container the pause command left its marker
// on has its cgroup read. Decisions (thaw before a stop) use Paused.
func PausedRun(dir string, pid int) bool {
	if _, err := os.Stat(filepath.Join(dir, PausedFileName)); err != nil {
		return false
	}
	return Frozen(pid)
}

// Frozen reads the freezer state of pid's cgroup (v2 cgroup.freeze, v1
// freezer.state).
func Frozen(pid int) bool {
	if p := cgroup2Dir(pid); p != "" {
		v, err := os.ReadFile(filepath.Join(p, "cgroup.freeze"))
		return err == nil && strings.TrimSpace(string(v)) == "1"
	}
	if p := cgroupLine(pid, "freezer"); p != "" {
		v, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", p, "freezer.state"))
		return err == nil && strings.TrimSpace(string(v)) == "FROZEN"
	}
	return false
}

// cgroup2Dir is pid's cgroup directory on a unified (v2) hierarchy, or "".
func cgroup2Dir(pid int) string {
	if !cgroups.IsCgroup2UnifiedMode() {
		return ""
	}
	if p := cgroupLine(pid, ""); p != "" {
		return filepath.Join("/sys/fs/cgroup", p)
	}
	return ""
}

// cgroupLine is pid's cgroup path for controller ("" = the v2 hierarchy)
// from /proc/PID/cgroup.
func cgroupLine(pid int, controller string) string {
	if pid <= 0 {
		return ""
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" || controller != "" && slices.Contains(strings.Split(parts[1], ","), controller) {
			return parts[2]
		}
	}
	return ""
}

// loadLive returns the spec and libcontainer handle of a running (maybe
// paused) container.
func (r *Runtime) loadLive(dir string) (Spec, *libcontainer.Container, error) {
	spec, err := ReadSpec(dir)
	if err != nil {
		return spec, nil, err
	}
	notRunning := fmt.Errorf("container %s is not running: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
	if st, err := ReadState(dir); err != nil || st.Status != StatusRunning {
		return spec, nil, notRunning
	}
	c, err := libcontainer.Load(libcontainerRoot(r.RunDir), spec.ID)
	if err != nil {
		return spec, nil, notRunning
	}
	return spec, c, nil
}
