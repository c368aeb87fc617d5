package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// writer puts files into a mounted root filesystem. Every container path is
// resolved inside root (symlinks in the image cannot send a write to the
// host), and an existing symlink at a destination is replaced, not followed.
type writer struct {
	root  string
	owner *[2]int      // nil = keep the source's owner
	chmod *fs.FileMode // nil = keep the source's mode
	// dirs caches resolved, existing parent directories (container path ->
	// host path): a copy never turns a directory into anything else, so a
	// directory once resolved stays where it is.
	dirs map[string]string
}

// hostParent resolves the parent of container path p inside the root
// (creating it) and returns it with p's last element.
func (w *writer) hostParent(p string) (string, string, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		return w.root, "", nil
	}
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	if parent, ok := w.dirs[dir]; ok {
		return parent, base, nil
	}
	if err := w.mkdirAll(dir); err != nil {
		return "", "", err
	}
	parent, err := securejoin.SecureJoin(w.root, dir)
	if err != nil {
		return "", "", err
	}
	if w.dirs == nil {
		w.dirs = map[string]string{}
	}
	w.dirs[dir] = parent
	return parent, base, nil
}

// hostPath resolves container path p fully (symlinks followed inside root).
func (w *writer) hostPath(p string) (string, error) { return securejoin.SecureJoin(w.root, p) }

// mkdirAll creates container directory p and its missing parents (0755,
// owned like the copied files, as Docker creates them). The path is
// resolved inside the root first, so only plain names are created.
func (w *writer) mkdirAll(p string) error {
	p = path.Clean("/" + p)
	hp, err := securejoin.SecureJoin(w.root, p)
	if err != nil {
		return err
	}
	var missing []string
	for cur := hp; cur != w.root && len(cur) > len(w.root); cur = filepath.Dir(cur) {
		fi, err := os.Lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory: %w", p, errdefs.ErrInvalidArgument)
			}
			break
		}
		missing = append(missing, cur)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if w.owner != nil {
			if err := os.Lchown(missing[i], w.owner[0], w.owner[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// isDir reports whether container path p is an existing directory.
func (w *writer) isDir(p string) bool {
	hp, err := w.hostPath(p)
	if err != nil {
		return false
	}
	fi, err := os.Stat(hp)
	return err == nil && fi.IsDir()
}

// put writes one entry at container path dst from host path src (fi is
// src's Lstat info).
func (w *writer) put(dst, src string, fi fs.FileInfo) error {
	parent, base, err := w.hostParent(dst)
	if err != nil {
		return err
	}
	if base == "" { // the root itself
		return w.meta(w.root, fi)
	}
	target := filepath.Join(parent, base)
	old, oerr := os.Lstat(target)
	if oerr == nil && !(old.IsDir() && fi.IsDir()) {
		if old.IsDir() {
			return fmt.Errorf("cannot replace directory %s with a file: %w", dst, errdefs.ErrInvalidArgument)
		}
		if err := os.Remove(target); err != nil {
			return err
		}
	}
	switch {
	case fi.IsDir():
		if oerr != nil || !old.IsDir() {
			if err := os.Mkdir(target, 0o755); err != nil {
				return err
			}
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(link, target); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		if err := copyFile(target, src); err != nil {
			return err
		}
	default:
		return nil // devices, fifos and sockets in a context are skipped
	}
	return w.meta(target, fi)
}

// putData writes a file with the given content (COPY <<EOF).
func (w *writer) putData(dst string, data []byte, mode fs.FileMode) error {
	parent, base, err := w.hostParent(dst)
	if err != nil {
		return err
	}
	target := filepath.Join(parent, base)
	if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
		_ = os.Remove(target)
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	owner := [2]int{0, 0}
	if w.owner != nil {
		owner = *w.owner
	}
	if err := os.Lchown(target, owner[0], owner[1]); err != nil {
		return err
	}
	if w.chmod != nil {
		mode = *w.chmod
	}
	return os.Chmod(target, mode)
}

// meta applies owner, mode and mtime to a written entry.
func (w *writer) meta(target string, fi fs.FileInfo) error {
	uid, gid := 0, 0
	if w.owner != nil {
		uid, gid = w.owner[0], w.owner[1]
	} else if st, ok := fi.Sys().(*unix.Stat_t); ok {
		uid, gid = int(st.Uid), int(st.Gid)
	}
	if err := os.Lchown(target, uid, gid); err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	mode := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if w.chmod != nil {
		mode = *w.chmod
	}
	if err := os.Chmod(target, mode); err != nil {
		return err
	}
	return os.Chtimes(target, fi.ModTime(), fi.ModTime())
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// parseChown resolves --chown=user[:group] with the root's /etc/passwd and
// /etc/group. Without a group the gid is the uid's number, as Docker does.
func parseChown(root, spec string) (*[2]int, error) {
	if spec == "" {
		return nil, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	uid, err := lookupID(root, "/etc/passwd", u)
	if err != nil {
		return nil, err
	}
	gid := uid
	if hasGroup {
		if gid, err = lookupID(root, "/etc/group", g); err != nil {
			return nil, err
		}
	}
	return &[2]int{uid, gid}, nil
}

func lookupID(root, file, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	p, err := securejoin.SecureJoin(root, file)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("--chown %s: no %s in the image: %w", name, file, errdefs.ErrNotFound)
	}
	defer f.Close()
	if file == "/etc/passwd" {
		us, err := user.ParsePasswdFilter(f, func(u user.User) bool { return u.Name == name })
		if err != nil || len(us) == 0 {
			return 0, fmt.Errorf("--chown: unable to find user %s: %w", name, errdefs.ErrNotFound)
		}
		return us[0].Uid, nil
	}
	gs, err := user.ParseGroupFilter(f, func(g user.Group) bool { return g.Name == name })
	if err != nil || len(gs) == 0 {
		return 0, fmt.Errorf("--chown: unable to find group %s: %w", name, errdefs.ErrNotFound)
	}
	return gs[0].Gid, nil
}

func parseChmod(s string) (*fs.FileMode, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return nil, fmt.Errorf("--chmod=%s: use an octal mode such as 0755: %w", s, errdefs.ErrInvalidArgument)
	}
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return &m, nil
}

// archiveReader returns a tar reader when the file is a tar archive, plain,
// gzip or bzip2 compressed (what ADD unpacks), or nil.
func archiveReader(f *os.File) (*tar.Reader, error) {
	br := bufio.NewReader(f)
	head, _ := br.Peek(3)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil
		}
		r = gz
	case bytes.HasPrefix(head, []byte("BZh")):
		r = bzip2.NewReader(br)
	}
	inner := bufio.NewReader(r)
	block, err := inner.Peek(512)
	if err != nil || !isTarHeader(block) {
		return nil, nil
	}
	return tar.NewReader(inner), nil
}

func isTarHeader(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	if string(b[257:262]) == "ustar" {
		return true
	}
	// Old v7 tar: verify the header checksum.
	sum := 0
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	want, err := strconv.ParseInt(strings.TrimRight(strings.TrimSpace(string(b[148:156])), "\x00 "), 8, 64)
	return err == nil && int64(sum) == want && b[0] != 0
}

// extract unpacks a tar into container directory dst, keeping the
// archive's owners and modes; every entry lands inside the root.
func (w *writer) extract(tr *tar.Reader, dst string) error {
	if err := w.mkdirAll(dst); err != nil {
		return err
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading archive: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		ctrPath := path.Join(dst, name)
		parent, base, err := w.hostParent(ctrPath)
		if err != nil {
			return err
		}
		target := filepath.Join(parent, base)
		if old, err := os.Lstat(target); err == nil && !(old.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
		case tar.TypeReg, tar.TypeRegA:
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			src, err := w.hostPath(path.Join(dst, path.Clean("/"+hdr.Linkname)))
			if err != nil {
				return err
			}
			if err := os.Link(src, target); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(target, hdr.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return err
			}
			_ = os.Chtimes(target, hdr.ModTime, hdr.ModTime)
		}
	}
}
