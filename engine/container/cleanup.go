package container

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// oomKilled reports whether the kernel's OOM killer killed a process of the
// container's cgroup. It must be called before the cgroup is destroyed.
func oomKilled(c *libcontainer.Container) bool {
	st, err := c.State()
	if err != nil {
		return false
	}
	file := filepath.Join(st.CgroupPaths["memory"], "memory.oom_control") // v1
	if p, ok := st.CgroupPaths[""]; ok {
		file = filepath.Join(p, "memory.events") // v2
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.Atoi(v)
			return n > 0
		}
	}
	return false
}
