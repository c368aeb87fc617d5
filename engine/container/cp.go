package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/mountinfo"

	"github.com/composer-dev/compose/errdefs"
)

// CopyOptions are `docker cp`'s flags.
type CopyOptions struct {
	FollowLink bool // -L: copy what a symlink SRC points to
	Archive    bool // -a: keep uid/gid (into the container; else files belong to its root)
}

// CopyTo copies hostSrc into the container in dir at ctrDst, with `docker
// cp` semantics: a directory copied into an existing directory is nested in
// it, and a SRC ending in "/." copies the directory's contents. Container
// paths resolve inside its root filesystem (and bind mounts), so symlinks
// in the container can never lead a write outside of it.
func (r *Runtime) CopyTo(ctx context.Context, dir, hostSrc, ctrDst string, opts CopyOptions) error {
	src, err := hostEndpoint(hostSrc, opts.FollowLink)
	if err != nil {
		return err
	}
	return r.withRootfs(dir, func(spec Spec, rootfs string) error {
		dst := containerEndpoint(spec, rootfs, ctrDst)
		owner := func(fi fs.FileInfo) (int, int) { return 0, 0 }
		if opts.Archive {
			owner = fileOwner
		}
		return copyPath(src, dst, owner)
	})
}

// CopyFrom copies ctrSrc from the container in dir to hostDst (same
// semantics as CopyTo). The copies belong to the caller.
func (r *Runtime) CopyFrom(ctx context.Context, dir, ctrSrc, hostDst string, opts CopyOptions) error {
	return r.withRootfs(dir, func(spec Spec, rootfs string) error {
		src, err := containerSource(spec, rootfs, ctrSrc, opts.FollowLink)
		if err != nil {
			return err
		}
		dst, err := filepath.Abs(hostDst)
		if err != nil {
			return err
		}
		if strings.HasSuffix(hostDst, "/") {
			dst += "/"
		}
		return copyPath(src, endpoint{path: dst, base: "/"}, nil)
	})
}

// endpoint is a resolved path: path lies inside base, which no symlink may leave.
type endpoint struct {
	path string
	base string
	name string // the name to copy as (SRC's last element, even when -L followed it)
	dot  bool   // SRC ended in "/.": copy the contents
}

// WithRootfs runs fn with the root filesystem of the container in dir
// mounted on the host (it is for a stopped container only while fn runs).
func (r *Runtime) WithRootfs(dir string, fn func(rootfs string) error) error {
	return r.withRootfs(dir, func(_ Spec, rootfs string) error { return fn(rootfs) })
}

// withRootfs runs fn with the container's root filesystem mounted: a stopped
// container's is mounted for the time of the copy.
func (r *Runtime) withRootfs(dir string, fn func(Spec, string) error) error {
	spec, err := ReadSpec(dir)
	if err != nil {
		return err
	}
	rootfs := mergedDir(dir)
	mounted, err := mountinfo.Mounted(rootfs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if !mounted {
		if err := mountRootfs(dir, spec.Lower); err != nil {
			return fmt.Errorf("container %s: %w", spec.DisplayName(), err)
		}
		defer func() {
			if st, err := ReadState(dir); err != nil || st.Status != StatusRunning {
				_ = unmountUnder(resolvedPath(rootfsDir(dir)))
			}
		}()
	}
	return fn(spec, rootfs)
}

// containerBase maps a container path to the host directory that holds it:
// the rootfs, or the source of the directory bind mount it lies under.
func containerBase(spec Spec, rootfs, p string) (base, rel string) {
	p = filepath.Join("/", p)
	base, rel = rootfs, p
	best := -1
	for _, m := range spec.Mounts {
		d := filepath.Clean(m.Destination)
		if fi, err := os.Stat(m.Source); err != nil || !fi.IsDir() {
			continue
		}
		if (p == d || strings.HasPrefix(p, d+"/")) && len(d) > best {
			best = len(d)
			base, rel = m.Source, "/"+strings.TrimPrefix(p, d)
		}
	}
	return base, rel
}

// containerEndpoint resolves a destination inside the container.
func containerEndpoint(spec Spec, rootfs, p string) endpoint {
	base, rel := containerBase(spec, rootfs, p)
	e := endpoint{base: base, path: rel}
	if strings.HasSuffix(p, "/") {
		e.path += "/"
	}
	return e
}

// containerSource resolves SRC inside the container; its last element is
// followed only with -L.
func containerSource(spec Spec, rootfs, p string, follow bool) (endpoint, error) {
	base, rel := containerBase(spec, rootfs, p)
	dot := strings.HasSuffix(p, "/.")
	clean := filepath.Clean(rel)
	var host string
	var err error
	if follow || clean == "/" {
		host, err = securejoin.SecureJoin(base, clean)
	} else {
		var parent string
		parent, err = securejoin.SecureJoin(base, filepath.Dir(clean))
		host = filepath.Join(parent, filepath.Base(clean))
	}
	if err != nil {
		return endpoint{}, err
	}
	if _, err := os.Lstat(host); err != nil {
		return endpoint{}, fmt.Errorf("could not find the file %s in container %s: %w", p, spec.DisplayName(), errdefs.ErrNotFound)
	}
	return endpoint{path: host, base: base, name: filepath.Base(clean), dot: dot}, nil
}

// hostEndpoint resolves a SRC on the host.
func hostEndpoint(p string, follow bool) (endpoint, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return endpoint{}, err
	}
	e := endpoint{path: abs, base: "/", name: filepath.Base(abs), dot: strings.HasSuffix(p, "/.")}
	if follow {
		if e.path, err = filepath.EvalSymlinks(abs); err != nil {
			return endpoint{}, fmt.Errorf("%s: %w", p, errdefs.Mark(errdefs.ErrNotFound, err))
		}
	}
	if _, err := os.Lstat(e.path); err != nil {
		return endpoint{}, fmt.Errorf("%s: %w", p, errdefs.Mark(errdefs.ErrNotFound, err))
	}
	return e, nil
}

// copyPath applies docker cp's rules to decide the target, then copies.
// dst.path is relative to dst.base when base is not "/" (a container), so
// that it resolves with symlinks scoped to base. owner gives the owner of
// each copy; nil leaves the copies to the caller.
func copyPath(src, dst endpoint, owner func(fs.FileInfo) (int, int)) error {
	sfi, err := os.Lstat(src.path)
	if err != nil {
		return err
	}
	wantDir := strings.HasSuffix(dst.path, "/")
	parentRel, last := filepath.Split(filepath.Clean(dst.path))
	// Resolve the destination's directory with symlinks scoped to base.
	parent, err := securejoin.SecureJoin(dst.base, parentRel)
	if err != nil {
		return err
	}
	target := parent
	if last != "" && last != "/" {
		if full, err := securejoin.SecureJoin(dst.base, filepath.Join(parentRel, last)); err == nil {
			if fi, err := os.Stat(full); err == nil && fi.IsDir() {
				target = full
				last = ""
			}
		}
	}
	if last == "/" {
		last = ""
	}
	switch {
	case last == "": // DEST is an existing directory
		if !sfi.IsDir() || !src.dot {
			last = src.name
		}
	case wantDir:
		return fmt.Errorf("destination directory %s does not exist: %w", dst.path, errdefs.ErrNotFound)
	}
	if _, err := os.Stat(target); err != nil {
		return fmt.Errorf("destination %s: %w", filepath.Dir(dst.path), errdefs.Mark(errdefs.ErrNotFound, err))
	}
	root, err := os.OpenRoot(target)
	if err != nil {
		return err
	}
	defer root.Close()
	if last != "" {
		if fi, err := root.Lstat(last); err == nil && !fi.IsDir() && sfi.IsDir() {
			return fmt.Errorf("cannot copy a directory to a file %s: %w", dst.path, errdefs.ErrInvalidArgument)
		}
	}
	srcRoot, err := os.OpenRoot(filepath.Dir(src.path))
	if err != nil {
		return err
	}
	defer srcRoot.Close()
	c := copier{src: srcRoot, dst: root, owner: owner}
	name := last
	if name == "" {
		name = "."
	}
	return c.copy(filepath.Base(src.path), name)
}

// copier copies a tree between two roots, never following a symlink out of either.
type copier struct {
	src, dst *os.Root
	owner    func(fs.FileInfo) (int, int)
}

func (c copier) copy(from, to string) error {
	fi, err := c.src.Lstat(from)
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir() && to == ".": // "SRC/." into an existing directory: its contents only
		return c.copyChildren(from, to)
	case fi.IsDir():
		if err := c.dst.Mkdir(to, fi.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if dfi, err := c.dst.Lstat(to); err != nil || !dfi.IsDir() {
			return fmt.Errorf("cannot copy a directory to a file %s: %w", to, errdefs.ErrInvalidArgument)
		}
		if err := c.copyChildren(from, to); err != nil {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := c.src.Readlink(from)
		if err != nil {
			return err
		}
		if err := c.replace(to); err != nil {
			return err
		}
		if err := c.dst.Symlink(link, to); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		return c.copyFile(from, to, fi)
	default:
		return nil // devices, fifos and sockets are not copied
	}
	if c.owner != nil {
		uid, gid := c.owner(fi)
		if err := c.dst.Lchown(to, uid, gid); err != nil {
			return err
		}
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if err := c.dst.Chmod(to, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
		_ = c.dst.Chtimes(to, fi.ModTime(), fi.ModTime())
	}
	return nil
}

func (c copier) copyChildren(from, to string) error {
	ents, err := fs.ReadDir(c.src.FS(), from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := c.copy(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// replace removes a non-directory at name so a new file never writes
// through an existing symlink.
func (c copier) replace(name string) error {
	fi, err := c.dst.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("cannot overwrite directory %s with a file: %w", name, errdefs.ErrInvalidArgument)
	}
	return c.dst.Remove(name)
}

// copyFile writes a temporary file beside to, with its owner, mode and
// times, and renames it over to: a reader in the container sees the old
// content or the new, never a missing or half-written file.
func (c copier) copyFile(from, to string, fi fs.FileInfo) error {
	in, err := c.src.OpenFile(from, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	if dfi, err := c.dst.Lstat(to); err == nil && dfi.IsDir() {
		return fmt.Errorf("cannot overwrite directory %s with a file: %w", to, errdefs.ErrInvalidArgument)
	}
	tmp := filepath.Join(filepath.Dir(to), fmt.Sprintf(".%s.compose-%d", filepath.Base(to), os.Getpid()))
	_ = c.dst.Remove(tmp) // left by a copy that was killed
	out, err := c.dst.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	err = func() error {
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
		if c.owner != nil {
			if err := out.Chown(c.owner(fi)); err != nil {
				return err
			}
		}
		// After the chown, which clears set-id bits.
		if err := out.Chmod(fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
			return err
		}
		return out.Close()
	}()
	if err != nil {
		out.Close()
		_ = c.dst.Remove(tmp)
		return err
	}
	_ = c.dst.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	if err := c.dst.Rename(tmp, to); err != nil {
		_ = c.dst.Remove(tmp)
		return err
	}
	return nil
}

func fileOwner(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}
