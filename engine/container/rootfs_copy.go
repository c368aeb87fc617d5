package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/fscopy"
)

// StorageDriverEnv set to "vfs" makes every container get a copied root
// filesystem instead of an overlay mount (Docker's name for that driver).
const StorageDriverEnv = "COMPOSE_STORAGE_DRIVER"

// copiedMarker, in Dir/rootfs, says that merged is a finished copy.
const copiedMarker = "copied"

func forcedCopy() bool { return os.Getenv(StorageDriverEnv) == "vfs" }

func isCopied(dir string) bool {
	_, err := os.Stat(filepath.Join(rootfsDir(dir), copiedMarker))
	return err == nil
}

// overlayUnsupported reports whether a mount error means the kernel or the
// filesystem of the upper dir cannot do overlayfs (no overlay module, or
// an upper dir on overlayfs, NFS, ...).
func overlayUnsupported(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)
}

var overlayProbes sync.Map // dir -> probeResult

type probeResult struct {
	ok  bool
	err error
}

// OverlaySupported reports whether containers whose Dir is under dir get
// overlay root filesystems: false when StorageDriverEnv asks for copies or
// an overlay with its upper dir on dir's filesystem cannot be mounted (the
// answer of a real mount, remembered for the process). Needs root.
func OverlaySupported(dir string) (bool, error) {
	if forcedCopy() {
		return false, nil
	}
	if r, ok := overlayProbes.Load(dir); ok {
		return r.(probeResult).ok, r.(probeResult).err
	}
	ok, err := probeOverlay(dir)
	overlayProbes.Store(dir, probeResult{ok, err})
	return ok, err
}

func probeOverlay(dir string) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(dir, ".overlay-probe-")
	if err != nil {
		return false, err
	}
	p := func(n string) string { return filepath.Join(tmp, n) }
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(p(d), 0o700); err != nil {
			os.RemoveAll(tmp)
			return false, err
		}
	}
	err = unix.Mount("overlay", p("merged"), "overlay", 0, overlayData([]string{p("lower")}, p("upper"), p("work")))
	if err == nil {
		if err := unix.Unmount(p("merged"), unix.MNT_DETACH); err != nil {
			return true, fmt.Errorf("overlay probe: %w", err) // left in place: never remove through a mount
		}
	}
	os.RemoveAll(tmp)
	if err == nil {
		return true, nil
	}
	if overlayUnsupported(err) {
		return false, nil
	}
	return false, fmt.Errorf("overlay probe in %s: %w", dir, err)
}

var warned sync.Once

// StorageWarning returns, the first time it is called in a process for a
// dir where OverlaySupported is false because of the filesystem, the one
// line to show the user; otherwise "". The supervisor cannot show it (its
// stderr goes nowhere), so the CLI calls this before starting containers.
func StorageWarning(dir string) string {
	if forcedCopy() {
		return "" // asked for
	}
	if ok, err := OverlaySupported(dir); ok || err != nil {
		return ""
	}
	msg := ""
	warned.Do(func() {
		msg = fmt.Sprintf("overlayfs is not available on %s; using copied root filesystems (slower, more disk)", fsName(dir))
	})
	return msg
}

// fsName describes the filesystem dir is on: "overlay (/var/lib/compose)".
func fsName(dir string) string {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(resolvedPath(dir)))
	if err != nil || len(mounts) == 0 {
		return dir
	}
	m := slices.MaxFunc(mounts, func(a, b *mountinfo.Info) int { return len(a.Mountpoint) - len(b.Mountpoint) })
	return m.FSType + " (" + dir + ")"
}

// copyRootfs makes Dir/rootfs/merged a plain directory holding the layers
// applied bottom first, with overlay whiteouts (0:0 character devices) and
// opaque directories honoured, where overlayfs cannot be used. It is made
// at the first start and kept afterwards: it is the container's writable
// layer. The caller has unmounted everything under Dir/rootfs.
func copyRootfs(dir string, lower []string) error {
	root := rootfsDir(dir)
	if isCopied(dir) {
		return nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	merged := mergedDir(dir)
	if m, err := mountinfo.Mounted(merged); err == nil && m {
		return fmt.Errorf("copy rootfs: %s is mounted", merged)
	}
	tmp := filepath.Join(root, "merged.tmp")
	if err := os.RemoveAll(tmp); err != nil { // left by a crash
		return err
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	for _, l := range lower {
		if err := fscopy.Copy(tmp, l, fscopy.Options{Layer: true}); err != nil {
			return fmt.Errorf("copy rootfs: layer %s: %w", l, err)
		}
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	// merged is an unfinished copy or an unused overlay mount point.
	if err := os.RemoveAll(merged); err != nil {
		return err
	}
	if err := os.Rename(tmp, merged); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(root, copiedMarker))
	if err != nil {
		return err
	}
	return f.Close()
}

func syncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
