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
	tw := tar.NewWriter(out)
	links := map[uint64]string{} // inode -> first name, for hard links
	n := 0
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		hdr := &tar.Header{
			Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
			ModTime: timeOf(st.Mtim), Format: tar.FormatPAX,
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			if st.Rdev == 0 { // overlay whiteout
				dir, base := filepath.Split(name)
				n++
				return tw.WriteHeader(&tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: hdr.ModTime, Format: tar.FormatPAX})
			}
			hdr.Typeflag = tar.TypeChar
			hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		case unix.S_IFBLK:
			hdr.Typeflag = tar.TypeBlock
			hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		case unix.S_IFIFO:
			hdr.Typeflag = tar.TypeFifo
		case unix.S_IFSOCK:
			return nil
		case unix.S_IFDIR:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		case unix.S_IFREG:
			if st.Nlink > 1 {
				if first, ok := links[st.Ino]; ok {
					hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
					break
				}
				links[st.Ino] = name
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		}
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
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		n++
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, hdr.Size)
			f.Close()
			if err != nil {
				return err
			}
		}
		if hdr.Typeflag == tar.TypeDir {
			if v, err := getXattr(p, "trusted.overlay.opaque"); err == nil && strings.TrimRight(string(v), "\x00") == "y" {
				n++
				return tw.WriteHeader(&tar.Header{Name: name + "/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600, ModTime: hdr.ModTime, Format: tar.FormatPAX})
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, tw.Close()
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
