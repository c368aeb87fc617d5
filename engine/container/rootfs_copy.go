package container

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// StorageDriverEnv set to "vfs" makes every container get a copied root
// filesystem instead of an overlay mount (Docker's name for that driver).
const StorageDriverEnv = "COMPOSE_STORAGE_DRIVER"

// copiedMarker, in Dir/rootfs, says that merged is a finished copy.
const copiedMarker = "copied"

// opaqueXattr marks an overlay directory that hides the layers below it.
const opaqueXattr = "trusted.overlay.opaque"

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
		if err := applyLayer(tmp, l); err != nil {
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

// applyLayer copies the unpacked layer src onto dst the way overlayfs would
// show it above what dst holds. The walk visits every directory before its
// contents and makes it a real directory in dst first, so no path in dst
// ever goes through a symlink.
func applyLayer(dst, src string) error {
	var dirs []string // metadata is set last: adding entries changes mtimes
	links := map[uint64]string{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			dirs = append(dirs, rel)
			return copyDir(p, target, rel == ".")
		case unix.S_IFCHR:
			if st.Rdev == 0 { // whiteout: the name is deleted
				return os.RemoveAll(target)
			}
		case unix.S_IFSOCK:
			return nil // sockets are never part of an image
		}
		if err := os.RemoveAll(target); err != nil {
			return err
		}
		if first, ok := links[st.Ino]; ok && st.Nlink > 1 {
			return os.Link(first, target)
		}
		if st.Nlink > 1 {
			links[st.Ino] = target
		}
		return copyNode(p, target, &st)
	})
	if err != nil {
		return err
	}
	for _, rel := range slices.Backward(dirs) {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(src, rel), &st); err != nil {
			return err
		}
		if err := copyMeta(filepath.Join(src, rel), filepath.Join(dst, rel), &st); err != nil {
			return err
		}
	}
	return nil
}

// copyDir makes target a directory; an opaque src directory hides what
// the layers below put there.
func copyDir(src, target string, isRoot bool) error {
	fi, err := os.Lstat(target)
	switch {
	case err == nil && fi.IsDir():
		if !isRoot && isOpaque(src) {
			entries, err := os.ReadDir(target)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(target, e.Name())); err != nil {
					return err
				}
			}
		}
		return nil
	case err == nil:
		if err := os.Remove(target); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return os.Mkdir(target, 0o700)
}

func isOpaque(dir string) bool {
	buf := make([]byte, 1)
	n, err := unix.Lgetxattr(dir, opaqueXattr, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// copyNode creates target as a copy of the non-directory src.
func copyNode(src, target string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if err := copyFile(src, target); err != nil {
			return err
		}
	case unix.S_IFLNK:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(link, target); err != nil {
			return err
		}
	default: // devices and fifos
		if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	return copyMeta(src, target, st)
}

func copyFile(src, target string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in) // copy_file_range: reflinks where the filesystem can
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyMeta gives target src's owner, mode, xattrs and times, in that order:
// chown clears setuid bits and file capabilities.
func copyMeta(src, target string, st *unix.Stat_t) error {
	if err := unix.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
			return err
		}
	}
	if err := copyXattrs(src, target); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func copyXattrs(src, target string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size == 0 {
		return ignoreXattrErr(err)
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(src, buf)
	if err != nil {
		return ignoreXattrErr(err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue // overlay's own bookkeeping, not the file's
		}
		n, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			return ignoreXattrErr(err)
		}
		val := make([]byte, n)
		if n, err = unix.Lgetxattr(src, name, val); err != nil {
			return ignoreXattrErr(err)
		}
		if err := unix.Lsetxattr(target, name, val[:n], 0); err != nil {
			if err := ignoreXattrErr(err); err != nil {
				return fmt.Errorf("xattr %s: %w", name, err)
			}
		}
	}
	return nil
}

// ignoreXattrErr drops errors of filesystems or nodes without xattrs.
func ignoreXattrErr(err error) error {
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODATA) {
		return nil
	}
	return err
}
