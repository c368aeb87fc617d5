package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Paths of the container's filesystem inside Spec.Dir.
func rootfsDir(dir string) string { return filepath.Join(dir, "rootfs") }
func mergedDir(dir string) string { return filepath.Join(dir, "rootfs", "merged") }

// maxMountData is the kernel's limit on mount(2) data: one page.
var maxMountData = os.Getpagesize() - 1

// mountRootfs makes Dir/rootfs/merged the container's root filesystem: an
// overlay mount of lower (bottom first) with Dir/rootfs/upper, or a copy of
// the layers where overlayfs cannot be used (see copyRootfs). A container
// that got a copy keeps it: it holds the container's changes.
func mountRootfs(dir string, lower []string) error {
	if isCopied(dir) || forcedCopy() {
		return copyRootfs(dir, lower)
	}
	err := mountOverlayRootfs(dir, lower)
	if overlayUnsupported(err) {
		return copyRootfs(dir, lower)
	}
	return err
}

// mountOverlayRootfs mounts overlay(lower..., upper, work) at
// Dir/rootfs/merged. With no lower dirs the upper dir alone is bind
// mounted (an empty image, e.g. FROM scratch plus bind mounts).
func mountOverlayRootfs(dir string, lower []string) error {
	root := rootfsDir(dir)
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	merged := mergedDir(dir)
	if len(lower) == 0 {
		if err := unix.Mount(filepath.Join(root, "upper"), merged, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mount rootfs: %w", err)
		}
		return nil
	}
	// overlay takes the top layer first.
	top := make([]string, len(lower))
	for i, l := range lower {
		top[len(lower)-1-i] = l
	}
	data := overlayData(top, filepath.Join(root, "upper"), filepath.Join(root, "work"))
	if len(data) <= maxMountData {
		if err := unix.Mount("overlay", merged, "overlay", 0, data); err != nil {
			return fmt.Errorf("mount rootfs overlay: %w", err)
		}
		return nil
	}
	return mountOverlayShort(root, top)
}

func overlayData(top []string, upper, work string) string {
	return "lowerdir=" + strings.Join(top, ":") + ",upperdir=" + upper + ",workdir=" + work + ",index=off"
}

// mountOverlayShort mounts with short relative names when absolute paths
// would not fit in a page (as containerd and podman do): the layers are
// linked as rootfs/l/0, l/1, ... and the mount is done from inside rootfs/l
// on a thread with its own working directory, so the rest of the process
// keeps its cwd.
func mountOverlayShort(root string, top []string) error {
	links := filepath.Join(root, "l")
	if err := os.RemoveAll(links); err != nil {
		return err
	}
	if err := os.Mkdir(links, 0o700); err != nil {
		return err
	}
	names := make([]string, len(top))
	for i, l := range top {
		names[i] = strconv.Itoa(i)
		if err := os.Symlink(l, filepath.Join(links, names[i])); err != nil {
			return err
		}
	}
	data := overlayData(names, "../upper", "../work")
	if len(data) > maxMountData {
		return fmt.Errorf("mount rootfs overlay: %d layers do not fit in the mount options", len(top))
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, whose fs attributes we unshared, exits
		// with this goroutine instead of being reused.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare fs: %w", err)
			return
		}
		if err := unix.Chdir(links); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount("overlay", "../merged", "overlay", 0, data); err != nil {
			errc <- fmt.Errorf("mount rootfs overlay: %w", err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// unmountUnder detaches every mount at or below dir, deepest first, and
// fails if any remains (so that removing dir can never reach into an image
// layer or a volume through a mount).
func unmountUnder(dir string) error {
	dir = filepath.Clean(dir)
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	// Longest path first: children before parents.
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m.Mountpoint, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	left, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err == nil && len(left) > 0 {
		return fmt.Errorf("%s is still mounted", left[0].Mountpoint)
	}
	return err
}
