// Package fscopy copies directory trees on one host, keeping what the
// filesystem records about each file: its type, content, mode, owner,
// times, extended attributes (file capabilities included) and hard links
// within the copy. Symlinks are copied as links, device nodes and fifos as
// such; sockets are skipped. It also lays an image layer in overlayfs form
// over a tree, so layers can be merged where no overlay is mounted.
//
// Nothing is ever written outside the destination: every name there is
// opened one at a time from the destination's directory fd with
// O_NOFOLLOW, so a symlink already in the destination is replaced, never
// followed.
package fscopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// Options say how src is read.
type Options struct {
	// Layer reads src as an image layer in overlayfs form, laid over what
	// dst holds the way overlayfs shows an upper layer above a lower one: a
	// whiteout (a 0:0 character device) deletes its name, and an opaque
	// directory (xattr trusted.overlay.opaque "y") hides what dst had in it.
	Layer bool
	// OpaqueRoot, with Layer, lets an opaque src hide everything dst holds:
	// src is a directory inside a layer. A layer's own root is never opaque.
	OpaqueRoot bool
}

// Copy copies the tree of the directory src into the existing directory
// dst, dst itself taking src's metadata. An entry of src replaces what dst
// has under its name, except that a directory merges into a directory;
// other entries of dst stay.
func Copy(dst, src string, opts Options) error {
	s, err := openDir(unix.AT_FDCWD, src)
	if err != nil {
		return rootErr(src, err)
	}
	defer s.Close()
	d, err := openDir(unix.AT_FDCWD, dst)
	if err != nil {
		return rootErr(dst, err)
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd(s), &st); err != nil {
		return &fs.PathError{Op: "copy", Path: src, Err: err}
	}
	if opts.Layer && opts.OpaqueRoot && isOpaque(s) {
		if err := clearDir(d); err != nil {
			return &fs.PathError{Op: "copy", Path: dst, Err: err}
		}
	}
	c := &copier{opts: opts, root: d, links: map[fileID]string{}}
	if err := c.dir(s, d, "."); err != nil {
		return err
	}
	return pathErr(".", setMeta(node{fd: fd(s)}, node{fd: fd(d), dir: fd(d), name: "."}, &st))
}

func rootErr(name string, err error) error {
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("copy: %s is not a directory: %w", name, errdefs.ErrInvalidArgument)
	}
	return &fs.PathError{Op: "copy", Path: name, Err: err}
}

// pathErr names the entry (relative to the copy's root) an error is about.
func pathErr(rel string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: "copy", Path: rel, Err: err}
}

type copier struct {
	opts  Options
	root  *os.File          // dst
	links map[fileID]string // source inode -> its first copy, relative to root
}

type fileID struct{ dev, ino uint64 }

// dir copies the entries of the directory s into d; rel is s's path in
// the copy.
func (c *copier) dir(s, d *os.File, rel string) error {
	names, err := readNames(fd(s))
	if err != nil {
		return pathErr(rel, err)
	}
	for _, name := range names {
		if err := c.entry(s, d, name, path.Join(rel, name)); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) entry(s, d *os.File, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(fd(s), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return pathErr(rel, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return nil // a live endpoint, not content
	case unix.S_IFDIR:
		return c.subdir(s, d, name, rel, &st)
	case unix.S_IFCHR:
		if c.opts.Layer && st.Rdev == 0 { // whiteout: the name is deleted
			return pathErr(rel, removeAt(d, name))
		}
	}
	if err := removeAt(d, name); err != nil {
		return pathErr(rel, err)
	}
	if st.Nlink > 1 {
		id := fileID{st.Dev, st.Ino}
		if first, ok := c.links[id]; ok {
			return pathErr(rel, c.link(first, d, name))
		}
		c.links[id] = rel
	}
	return pathErr(rel, copyNode(s, d, name, &st))
}

// subdir makes name in d a directory (a real one: what was there, a
// symlink included, is replaced) and copies s's directory name into it.
// Its metadata is set last, since adding entries changes its times.
func (c *copier) subdir(s, d *os.File, name, rel string, st *unix.Stat_t) error {
	sub, err := openDir(fd(s), name)
	if err != nil {
		return pathErr(rel, err)
	}
	defer sub.Close()
	var dt unix.Stat_t
	err = unix.Fstatat(fd(d), name, &dt, unix.AT_SYMLINK_NOFOLLOW)
	exists := err == nil
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return pathErr(rel, err)
	}
	// An opaque directory starts afresh, as overlayfs shows only its own
	// entries and attributes.
	if exists && (dt.Mode&unix.S_IFMT != unix.S_IFDIR || c.opts.Layer && isOpaque(sub)) {
		if err := removeAt(d, name); err != nil {
			return pathErr(rel, err)
		}
		exists = false
	}
	if !exists {
		if err := unix.Mkdirat(fd(d), name, 0o700); err != nil {
			return pathErr(rel, err)
		}
	}
	dsub, err := openDir(fd(d), name)
	if err != nil {
		return pathErr(rel, err)
	}
	defer dsub.Close()
	if err := c.dir(sub, dsub, rel); err != nil {
		return err
	}
	return pathErr(rel, setMeta(node{fd: fd(sub)}, node{fd: fd(dsub), dir: fd(d), name: name}, st))
}

// link makes name in d another link to first, the copy of an earlier name
// of the same source inode.
func (c *copier) link(first string, d *os.File, name string) error {
	dir, base := path.Split(first)
	p, err := openRel(c.root, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return err
	}
	defer p.Close()
	// flags 0: a link to a symlink links the symlink, never its target.
	return unix.Linkat(fd(p), base, fd(d), name, 0)
}

// copyNode creates name in d as a copy of the non-directory name in s.
func copyNode(s, d *os.File, name string, st *unix.Stat_t) error {
	src := node{fd: -1, dir: fd(s), name: name}
	dst := node{fd: -1, dir: fd(d), name: name}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return copyFile(src, dst, st)
	case unix.S_IFLNK:
		target, err := readlinkAt(fd(s), name, int(st.Size))
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, fd(d), name); err != nil {
			return err
		}
	default: // devices and fifos
		if err := unix.Mknodat(fd(d), name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	return setMeta(src, dst, st)
}

func copyFile(src, dst node, st *unix.Stat_t) error {
	in, err := openAt(src.dir, src.name, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := openAt(dst.dir, dst.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in) // copy_file_range: reflinks where the filesystem can
	if err == nil {
		src.fd, dst.fd = fd(in), fd(out)
		err = setMeta(src, dst, st)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
