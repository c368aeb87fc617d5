package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// writeLayer writes the overlay upper dir as a layer tar: overlay
// whiteouts (0/0 character devices) become AUFS ".wh." entries and opaque
// directories get ".wh..wh..opq", as the OCI image spec has them. It
// returns the number of entries written.
func writeLayer(upper string, out io.Writer) (int, error) {
	return WriteLayer(upper, out, nil)
}

// WriteLayer is writeLayer for commit and export: skip, when not nil,
// leaves out the entries (and what is under them) it names.
func WriteLayer(dir string, out io.Writer, skip func(name string) bool) (int, error) {
	lw := &layerWriter{tw: tar.NewWriter(out), upper: dir, links: map[uint64]string{}, skip: skip}
	if err := filepath.WalkDir(dir, lw.add); err != nil {
		return 0, err
	}
	return lw.n, lw.tw.Close()
}

// layerWriter is the state of one writeLayer walk.
type layerWriter struct {
	tw    *tar.Writer
	upper string
	links map[uint64]string // inode -> first name, for hard links
	n     int               // entries written
	skip  func(name string) bool
}

// add writes the entry of one path of the upper dir, with its content.
func (lw *layerWriter) add(p string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(lw.upper, p)
	if rel == "." {
		return nil
	}
	name := filepath.ToSlash(rel)
	if lw.skip != nil && lw.skip(name) {
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 { // overlay whiteout
		dir, base := filepath.Split(name)
		return lw.marker(dir+".wh."+base, timeOf(st.Mtim))
	}
	hdr, err := lw.header(p, name, &st)
	if err != nil || hdr == nil {
		return err
	}
	if err := xattrRecords(p, name, hdr); err != nil {
		return err
	}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	lw.n++
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		if err := lw.content(p, hdr.Size); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		if v, err := getXattr(p, "trusted.overlay.opaque"); err == nil && strings.TrimRight(string(v), "\x00") == "y" {
			return lw.marker(name+"/.wh..wh..opq", hdr.ModTime)
		}
	}
	return nil
}

// header is the tar header of a file of the upper dir (not a whiteout);
// nil for a socket, which a layer does not hold. A second name of a hard
// link becomes a link to the first.
func (lw *layerWriter) header(p, name string, st *unix.Stat_t) (*tar.Header, error) {
	hdr := &tar.Header{
		Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: timeOf(st.Mtim), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		hdr.Typeflag = tar.TypeChar
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFSOCK:
		return nil, nil
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFREG:
		if st.Nlink > 1 {
			if first, ok := lw.links[st.Ino]; ok {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				break
			}
			lw.links[st.Ino] = name
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	}
	return hdr, nil
}

// xattrRecords refuses the overlay entries a layer cannot stand for and
// keeps file capabilities in the header.
func xattrRecords(p, name string, hdr *tar.Header) error {
	// With redirect_dir or metacopy on, an upper entry may stand for
	// content that stays in a lower layer: it cannot be a layer alone.
	for _, x := range []string{"trusted.overlay.redirect", "trusted.overlay.metacopy"} {
		if _, err := getXattr(p, x); err == nil {
			return fmt.Errorf("%s has %s: turn off overlayfs redirect_dir and metacopy (module parameters) to build images: %w", name, x, errdefs.ErrFailedPrecondition)
		}
	}
	if caps, err := getXattr(p, "security.capability"); err == nil && len(caps) > 0 {
		hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(caps)}
	}
	return nil
}

// content copies a regular file's size bytes after its header.
func (lw *layerWriter) content(p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	_, err = io.CopyN(lw.tw, f, size)
	f.Close()
	return err
}

// marker writes an empty AUFS-style whiteout entry (".wh.NAME" or the
// opaque ".wh..wh..opq").
func (lw *layerWriter) marker(name string, mtime time.Time) error {
	lw.n++
	return lw.tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: mtime, Format: tar.FormatPAX})
}

func getXattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		sz, err := unix.Lgetxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:sz], nil
	}
}

func timeOf(ts unix.Timespec) time.Time { return time.Unix(ts.Unix()).UTC() }
