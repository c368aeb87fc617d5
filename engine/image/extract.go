package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// AUFS-style whiteout names used in layer tars (OCI image spec, "Whiteouts").
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	paxXattrPrefix = "SCHILY.xattr."
)

// extractor unpacks one tar stream into a directory. Every path is resolved
// one component at a time with openat(O_NOFOLLOW) from the root, so no
// symlink in the tree is ever followed and nothing lands outside the root.
type extractor struct {
	root     int    // fd of the destination directory
	rootPath string // only for removing whole subtrees whose parents were checked
	dirs     map[string]*tar.Header
}

// extractLayer unpacks the layer tar r into the empty directory dir,
// converting AUFS whiteouts to overlayfs form.
func extractLayer(ctx context.Context, dir string, r io.Reader) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open layer dir: %w", err)
	}
	defer unix.Close(fd)
	x := &extractor{root: fd, rootPath: dir, dirs: map[string]*tar.Header{}}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading tar: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	return x.finishDirs()
}

// cleanName turns a tar entry name into a path relative to the root.
// Absolute names are taken as rooted at the layer; names that climb out
// with ".." are rejected.
func cleanName(name string) (string, error) {
	if path.IsAbs(name) {
		if c := strings.TrimPrefix(path.Clean(name), "/"); c != "" {
			return c, nil
		}
		return ".", nil
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("tar entry %q escapes the layer: %w", name, errdefs.ErrInvalidArgument)
	}
	return c, nil
}

func splitRel(rel string) (dir, base string) {
	dir, base = path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	return dir, base
}

// openDir opens the directory rel (relative to the root) without following
// any symlink, creating missing components (0755) when create is set.
func (x *extractor) openDir(rel string, create bool) (int, error) {
	fd, err := unix.Openat(x.root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if rel == "." || rel == "" {
		return fd, nil
	}
	comps := strings.Split(rel, "/")
	for i, comp := range comps {
		next, err := openNoFollow(fd, comp)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, comp, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = openNoFollow(fd, comp)
			}
		}
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
			return -1, fmt.Errorf("%q is a symlink or not a directory: %w", strings.Join(comps[:i+1], "/"), errdefs.ErrInvalidArgument)
		case err != nil:
			return -1, fmt.Errorf("%q: %w", strings.Join(comps[:i+1], "/"), err)
		}
		fd = next
	}
	return fd, nil
}

func openNoFollow(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag == tar.TypeDir {
			x.dirs["."] = hdr
		}
		return nil
	}
	dir, base := splitRel(rel)
	pfd, err := x.openDir(dir, true)
	if err != nil {
		return fmt.Errorf("tar entry %q: %w", hdr.Name, err)
	}
	defer unix.Close(pfd)
	if err := x.create(pfd, rel, base, hdr, r); err != nil {
		return fmt.Errorf("tar entry %q: %w", hdr.Name, err)
	}
	return nil
}

func (x *extractor) create(pfd int, rel, base string, hdr *tar.Header, r io.Reader) error {
	// Whiteouts first: their names are markers, not files.
	if base == whiteoutOpaque {
		return unix.Fsetxattr(pfd, opaqueXattr, []byte("y"), 0)
	}
	if strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix) {
		return nil // other AUFS metadata (.wh..wh.plnk ...)
	}
	if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if name == "" || name == "." || name == ".." {
			return nil
		}
		return x.whiteout(pfd, path.Join(path.Dir(rel), name), name, hdr)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		isDir, err := x.removeExisting(pfd, rel, base, true)
		if err != nil {
			return err
		}
		if !isDir {
			if err := unix.Mkdirat(pfd, base, 0o755); err != nil {
				return err
			}
		}
		x.dirs[rel] = hdr // mode, owner and times are applied at the end
		return nil
	case tar.TypeReg:
		if _, err := x.removeExisting(pfd, rel, base, false); err != nil {
			return err
		}
		return writeFile(pfd, base, hdr, r)
	case tar.TypeSymlink:
		if _, err := x.removeExisting(pfd, rel, base, false); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
		return finishAt(pfd, base, hdr, false)
	case tar.TypeLink:
		return x.hardlink(pfd, rel, base, hdr)
	case tar.TypeFifo:
		if _, err := x.removeExisting(pfd, rel, base, false); err != nil {
			return err
		}
		if err := unix.Mknodat(pfd, base, unix.S_IFIFO|uint32(hdr.Mode&0o7777), 0); err != nil {
			return err
		}
		return finishAt(pfd, base, hdr, true)
	case tar.TypeChar:
		if hdr.Devmajor == 0 && hdr.Devminor == 0 { // already an overlay whiteout
			return x.whiteout(pfd, rel, base, hdr)
		}
		return nil // device nodes come from the runtime, never from images
	default:
		return nil // block devices, global headers, unknown types
	}
}

// whiteout records that name (rel) is deleted, as overlayfs expects: a 0:0
// character device.
func (x *extractor) whiteout(pfd int, rel, name string, hdr *tar.Header) error {
	if _, err := x.removeExisting(pfd, rel, name, false); err != nil {
		return err
	}
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %q: %w", rel, err)
	}
	return chown(unix.Fchownat(pfd, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW))
}

func (x *extractor) hardlink(pfd int, rel, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil || target == "." {
		return fmt.Errorf("hard link to %q outside the layer: %w", hdr.Linkname, errdefs.ErrInvalidArgument)
	}
	if target == rel {
		return nil
	}
	tdir, tbase := splitRel(target)
	tfd, err := x.openDir(tdir, false)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	if _, err := x.removeExisting(pfd, rel, base, false); err != nil {
		return err
	}
	// flags 0: a link to a symlink links the symlink itself, never its target.
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// removeExisting clears the way for a new entry: a later tar entry replaces
// an earlier one, except that a directory stays a directory when keepDir.
func (x *extractor) removeExisting(pfd int, rel, base string, keepDir bool) (isDir bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, unix.Unlinkat(pfd, base, 0)
	}
	if keepDir {
		return true, nil
	}
	for d := range x.dirs {
		if d == rel || strings.HasPrefix(d, rel+"/") {
			delete(x.dirs, d)
		}
	}
	// Every parent of rel was just opened with O_NOFOLLOW, and RemoveAll
	// never follows symlinks, so this stays inside the layer.
	return false, os.RemoveAll(filepath.Join(x.rootPath, filepath.FromSlash(rel)))
}

func writeFile(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	err = applyMeta(fd, hdr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

// finishAt sets owner (and mode when chmod) and times of a node that cannot
// be opened (symlink, fifo). The node was just created by us.
func finishAt(pfd int, base string, hdr *tar.Header, chmod bool) error {
	if err := chown(unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)); err != nil {
		return err
	}
	if chmod {
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return err
		}
	}
	return setTimes(pfd, base, hdr)
}

// applyMeta sets owner, mode and xattrs on an open file or directory, in
// that order: chown clears setuid bits and security.capability.
func applyMeta(fd int, hdr *tar.Header) error {
	if err := chown(unix.Fchown(fd, hdr.Uid, hdr.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattrPrefix)
		// overlay's own xattrs (redirect, metacopy...) must never come from an image.
		if !ok || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		if err := unix.Fsetxattr(fd, name, []byte(v), 0); err != nil && !ignorableXattrErr(err) {
			return fmt.Errorf("xattr %s: %w", name, err)
		}
	}
	return nil
}

func ignorableXattrErr(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// chown ignores EPERM when not root, so unprivileged tests can unpack layers
// owned by root; as root every error counts.
func chown(err error) error {
	if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
		return nil
	}
	return err
}

func setTimes(pfd int, base string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// finishDirs applies directory metadata last, deepest first, so that
// creating entries did not bump mtimes and read-only modes did not block us.
func (x *extractor) finishDirs() error {
	rels := make([]string, 0, len(x.dirs))
	for rel := range x.dirs {
		rels = append(rels, rel)
	}
	sort.Slice(rels, func(i, j int) bool {
		di, dj := strings.Count(rels[i], "/"), strings.Count(rels[j], "/")
		if rels[i] == "." || rels[j] == "." {
			return rels[j] == "."
		}
		if di != dj {
			return di > dj
		}
		return rels[i] < rels[j]
	})
	for _, rel := range rels {
		if err := x.finishDir(rel, x.dirs[rel]); err != nil {
			return fmt.Errorf("directory %q: %w", rel, err)
		}
	}
	return nil
}

func (x *extractor) finishDir(rel string, hdr *tar.Header) error {
	dir, base := splitRel(rel)
	if rel == "." {
		dir, base = ".", "."
	}
	pfd, err := x.openDir(dir, false)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	fd, err := openNoFollow(pfd, base)
	if err != nil {
		return err
	}
	err = applyMeta(fd, hdr)
	unix.Close(fd)
	if err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}
