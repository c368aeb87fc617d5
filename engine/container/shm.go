package container

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// shmDir is where a shareable container's /dev/shm is mounted on the host:
// under rootfs/, so that tearing down the rootfs unmounts it too.
func shmDir(dir string) string { return filepath.Join(rootfsDir(dir), "shm") }

// applyShm sizes /dev/shm, or shares it: a shareable container's /dev/shm is
// a tmpfs on the host that containers joining its IPC namespace bind-mount;
// ipc: host binds the host's /dev/shm.
func applyShm(spec *specs.Spec, s *Spec) error {
	o := &s.Options
	size := o.ShmSize
	if size <= 0 {
		size = defaultShmSize
	}
	i := slices.IndexFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == "/dev/shm" })
	shm := specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(size, 10)}}
	switch {
	case o.IPCMode == "host":
		shm = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "rprivate"}}
	case o.IPCContainer != "":
		if src := shmDir(o.IPCContainer); isMountPoint(src) {
			shm = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: src, Options: []string{"rbind", "rprivate"}}
		}
	case o.IPCMode == "shareable":
		src := shmDir(s.Dir)
		if err := mountShm(src, shm.Options); err != nil {
			return err
		}
		shm = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: src, Options: []string{"rbind", "rprivate"}}
	}
	if o.IPCMode == "none" {
		if i >= 0 {
			spec.Mounts = slices.Delete(spec.Mounts, i, i+1)
		}
		return nil
	}
	if i >= 0 {
		spec.Mounts[i] = shm
	} else {
		spec.Mounts = append(spec.Mounts, shm)
	}
	return nil
}

// isMountPoint reports whether path is a mount point.
func isMountPoint(path string) bool {
	ok, err := mountinfo.Mounted(path)
	return err == nil && ok
}

// mountShm mounts a tmpfs for /dev/shm at dir on the host.
func mountShm(dir string, opts []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var data []string
	for _, o := range opts {
		if strings.Contains(o, "=") {
			data = append(data, o)
		}
	}
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, strings.Join(data, ",")); err != nil {
		return fmt.Errorf("mount shareable /dev/shm: %w", err)
	}
	return nil
}
