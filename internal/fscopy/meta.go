package fscopy

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// opaqueXattr marks an overlay directory that hides the layers below it.
const opaqueXattr = "trusted.overlay.opaque"

func isOpaque(dir *os.File) bool {
	buf := make([]byte, 1)
	n, err := unix.Fgetxattr(fd(dir), opaqueXattr, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// node is one file of a copy: its open fd where it has one (regular files
// and directories), else -1; and its name in the open directory dir
// (needed for times, and for nodes without an fd).
type node struct {
	fd   int
	dir  int
	name string
}

// setMeta gives dst src's owner, mode, xattrs and times (st), in that
// order: chown clears setuid bits and file capabilities.
func setMeta(src, dst node, st *unix.Stat_t) error {
	var err error
	if dst.fd >= 0 {
		err = unix.Fchown(dst.fd, int(st.Uid), int(st.Gid))
	} else {
		err = unix.Fchownat(dst.dir, dst.name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK: // a symlink has no mode of its own
	case dst.fd >= 0:
		err = unix.Fchmod(dst.fd, st.Mode&0o7777)
	default:
		err = chmodAt(dst.dir, dst.name, st.Mode&0o7777)
	}
	if err != nil {
		return err
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(dst.dir, dst.name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// copyXattrs copies every extended attribute but overlayfs's own
// bookkeeping (trusted.overlay.*), which belongs to the layer, not the file.
func copyXattrs(src, dst node) error {
	names, err := listXattrs(src)
	if err != nil {
		return ignoreXattrErr(err)
	}
	for _, name := range names {
		if strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		val, err := getXattr(src, name)
		if err != nil {
			if ignoreXattrErr(err) == nil {
				continue
			}
			return fmt.Errorf("xattr %s: %w", name, err)
		}
		if dst.fd >= 0 {
			err = unix.Fsetxattr(dst.fd, name, val, 0)
		} else {
			err = unix.Lsetxattr(procPath(dst.dir, dst.name), name, val, 0)
		}
		if err := ignoreXattrErr(err); err != nil {
			return fmt.Errorf("xattr %s: %w", name, err)
		}
	}
	return nil
}

// ignoreXattrErr drops the errors of filesystems or nodes that do not
// take an attribute (user.* on a symlink, trusted.* without privilege).
func ignoreXattrErr(err error) error {
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODATA) {
		return nil
	}
	return err
}

func listXattrs(n node) ([]string, error) {
	buf, err := readXattr(func(b []byte) (int, error) {
		if n.fd >= 0 {
			return unix.Flistxattr(n.fd, b)
		}
		return unix.Llistxattr(procPath(n.dir, n.name), b)
	})
	if err != nil || len(buf) == 0 {
		return nil, err
	}
	var names []string
	for name := range strings.SplitSeq(strings.TrimRight(string(buf), "\x00"), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

func getXattr(n node, name string) ([]byte, error) {
	return readXattr(func(b []byte) (int, error) {
		if n.fd >= 0 {
			return unix.Fgetxattr(n.fd, name, b)
		}
		return unix.Lgetxattr(procPath(n.dir, n.name), name, b)
	})
}

// readXattr calls read with a buffer of the size it asks for, again when
// the value grew in between (ERANGE).
func readXattr(read func([]byte) (int, error)) ([]byte, error) {
	for {
		size, err := read(nil)
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := read(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
