package container

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// destroyLeftover kills and destroys a libcontainer container left in root
// by a supervisor that died, if any.
func destroyLeftover(root, id string) {
	c, err := libcontainer.Load(root, id)
	if err != nil {
		if !errors.Is(err, libcontainer.ErrNotExist) {
			// An unreadable state dir would block Create forever.
			_ = os.RemoveAll(filepath.Join(root, id))
		}
		return
	}
	if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
		_ = c.Signal(unix.SIGKILL)
		waitStopped(c, 5*time.Second)
	}
	_ = c.Destroy()
}

// destroyCgroup kills whatever is left in the container's cgroup and removes
// it, in every hierarchy (v1) or the unified one (v2).
func destroyCgroup(id string) {
	m, err := manager.New(&cgroups.Cgroup{Path: cgroupPath(id), Resources: &cgroups.Resources{}})
	if err != nil || !m.Exists() {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, _ := m.GetAllPids()
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for _, p := range pids {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = m.Destroy()
}

// waitStopped waits until the container's init is gone or the timeout passes.
func waitStopped(c *libcontainer.Container, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oomFile is the file of the container's memory cgroup whose oom_kill
// counter tells the supervisor that the OOM killer struck.
func oomFile(c *libcontainer.Container) string {
	st, err := c.State()
	if err != nil {
		return ""
	}
	// v1 first: in hybrid mode "" is the unified hierarchy, without memory.
	if p, ok := st.CgroupPaths["memory"]; ok {
		return filepath.Join(p, "memory.oom_control")
	}
	if p, ok := st.CgroupPaths[""]; ok {
		return filepath.Join(p, "memory.events")
	}
	return ""
}
