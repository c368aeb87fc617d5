package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// SyncPath is a host file or directory and where it goes in a container.
type SyncPath struct {
	Host      string
	Container string // absolute
}

// Sync brings each container path in line with its host path (`compose
// watch`'s sync): a host file or directory is copied there, whole, and a
// host path that no longer exists is removed from the container. It
// writes straight into the filesystem the container sees, bind mounts,
// volumes and tmpfs mounts included: no archive, no process in the
// container. Missing directories are created; files keep their modes and
// times and belong to the container's user; symlinks are copied as links
// and followed on neither side; a file is replaced by a rename, so readers
// never see it half written. A stopped container's root filesystem is
// written too, so the change is there when it starts.
func (r *Runtime) Sync(ctx context.Context, dir string, paths []SyncPath) error {
	spec, err := ReadSpec(dir)
	if err != nil {
		return err
	}
	st, err := ReadState(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if st.Status == StatusRunning && st.Pid > 1 && st.InitStart != 0 {
		root, err := openProcRoot(st.Pid, st.InitStart)
		if err == nil {
			defer root.Close()
			return syncPaths(ctx, spec, root, paths, func(p string) (*os.File, string, error) { return root, p, nil })
		}
		// The container stopped meanwhile: write its root filesystem.
	}
	return r.withRootfs(dir, func(spec Spec, rootfs string) error {
		bases := map[string]*os.File{}
		defer func() {
			for _, f := range bases {
				f.Close()
			}
		}()
		return syncPaths(ctx, spec, nil, paths, func(p string) (*os.File, string, error) {
			base, rel := containerBase(spec, rootfs, p)
			if f := bases[base]; f != nil {
				return f, rel, nil
			}
			f, err := os.OpenFile(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, "", err
			}
			bases[base] = f
			return f, rel, nil
		})
	})
}

// openProcRoot opens the root directory of the container whose init is
// pid, as that process sees it (its mounts included), checking it is still
// that process and not a reuse of its pid.
func openProcRoot(pid int, start uint64) (*os.File, error) {
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if procStart(pid) != start {
		f.Close()
		return nil, fmt.Errorf("process %d is gone: %w", pid, fs.ErrNotExist)
	}
	return f, nil
}

// syncPaths applies each path. resolve maps a container path to the
// directory (a handle) holding it and the path relative to that directory.
// A process root (the running container's) is passed too, so the owner can
// be looked up in the container's own /etc/passwd; otherwise the rootfs
// base of "/" is used.
func syncPaths(ctx context.Context, spec Spec, procRoot *os.File, paths []SyncPath, resolve func(string) (*os.File, string, error)) error {
	owner, err := syncOwner(spec, procRoot, resolve)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		base, rel, err := resolve(p.Container)
		if err != nil {
			return err
		}
		if err := syncOne(base, rel, p.Host, owner); err != nil {
			return fmt.Errorf("sync %s to %s: %w", p.Host, p.Container, err)
		}
	}
	return nil
}

// syncOwner resolves the container's user (uid, gid) in its /etc/passwd.
func syncOwner(spec Spec, procRoot *os.File, resolve func(string) (*os.File, string, error)) (func(fs.FileInfo) (int, int), error) {
	root := procRoot
	if root == nil {
		var err error
		if root, _, err = resolve("/"); err != nil {
			return nil, err
		}
	}
	u, err := resolveUser(fdPath(root), spec.User)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", spec.DisplayName(), err)
	}
	return func(fs.FileInfo) (int, int) { return u.UID, u.GID }, nil
}

// syncOne makes rel (under base) what host is now.
func syncOne(base *os.File, rel, host string, owner func(fs.FileInfo) (int, int)) error {
	rel = filepath.Clean("/" + rel)
	parentRel, name := filepath.Dir(rel), filepath.Base(rel)
	if rel == "/" {
		parentRel, name = "/", "."
	}
	hfi, err := os.Lstat(host)
	if errors.Is(err, fs.ErrNotExist) {
		if name == "." {
			return nil // never empty a whole mount
		}
		parent, err := pathrs.OpenatInRoot(base, parentRel)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return nil // nothing there to remove
		}
		if err != nil {
			return err
		}
		defer parent.Close()
		dst, err := os.OpenRoot(fdPath(parent))
		if err != nil {
			return err
		}
		defer dst.Close()
		return dst.RemoveAll(name)
	}
	if err != nil {
		return err
	}
	uid, gid := owner(hfi)
	parent, err := mkdirAllOwned(base, parentRel, uid, gid)
	if err != nil {
		return err
	}
	defer parent.Close()
	dst, err := os.OpenRoot(fdPath(parent))
	if err != nil {
		return err
	}
	defer dst.Close()
	srcDir, srcName := filepath.Split(host)
	src, err := os.OpenRoot(srcDir)
	if err != nil {
		return err
	}
	defer src.Close()
	if name == "." && !hfi.IsDir() {
		return fmt.Errorf("cannot copy a file over the root of the container's filesystem")
	}
	c := copier{src: src, dst: dst, owner: owner}
	if hfi.IsDir() && name != "." {
		// A directory that became a file (or a link) in the container is
		// replaced, as a tar extraction would.
		if fi, err := dst.Lstat(name); err == nil && !fi.IsDir() {
			if err := dst.Remove(name); err != nil {
				return err
			}
		}
	}
	if !hfi.IsDir() {
		// A file replaces what is there, a directory included.
		if fi, err := dst.Lstat(name); err == nil && fi.IsDir() {
			if err := dst.RemoveAll(name); err != nil {
				return err
			}
		}
	}
	return c.copy(srcName, name)
}

// mkdirAllOwned opens dir under base, creating what is missing of it with
// the given owner (as a tar extraction by the container's user would).
func mkdirAllOwned(base *os.File, dir string, uid, gid int) (*os.File, error) {
	if f, err := pathrs.OpenatInRoot(base, dir); err == nil {
		return f, nil
	}
	// Find the deepest directory that exists; what is below it is created.
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	have := 0
	for i := len(parts) - 1; i > 0; i-- {
		if f, err := pathrs.OpenatInRoot(base, strings.Join(parts[:i], "/")); err == nil {
			f.Close()
			have = i
			break
		}
	}
	f, err := pathrs.MkdirAllHandle(base, dir, 0o755)
	if err != nil {
		return nil, err
	}
	for i := have + 1; i <= len(parts); i++ {
		d, err := pathrs.OpenatInRoot(base, strings.Join(parts[:i], "/"))
		if err != nil {
			f.Close()
			return nil, err
		}
		err = unix.Fchownat(int(d.Fd()), "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
		d.Close()
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// fdPath names an open file by its descriptor: opening it reaches that
// very directory, whatever happened to its path since.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }
