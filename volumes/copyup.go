package volumes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// opaqueXattr marks an overlay directory that hides the layers below it.
const opaqueXattr = "trusted.overlay.opaque"

// Empty reports whether dir has no entries (a missing dir counts as empty).
func Empty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// CopyUp fills dst, an empty volume dir, with what the image has at path:
// the layers (unpacked dirs with overlay whiteouts, bottom first) are merged
// into dst the way overlayfs shows them, keeping owners, modes, times and
// symlinks. dst itself takes the owner and mode of the image's directory, as
// Docker does. Each path is resolved inside its layer (securejoin), so a
// symlink in the image cannot make the copy read host files. It reports
// whether the image has a directory at path.
func CopyUp(dst string, layers []string, path string) (bool, error) {
	found := false
	for _, layer := range layers {
		src, err := securejoin.SecureJoin(layer, path)
		if err != nil {
			return found, err
		}
		var st unix.Stat_t
		if err := unix.Lstat(src, &st); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				continue
			}
			return found, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR { // a whiteout or a file hides what was below
			if err := clearDir(dst); err != nil {
				return found, err
			}
			found = false
			continue
		}
		if found && opaque(src) || !found {
			if err := clearDir(dst); err != nil {
				return found, err
			}
		}
		found = true
		if err := mergeDir(src, dst); err != nil {
			return found, fmt.Errorf("copy image content at %s: %w", path, err)
		}
		if err := copyMeta(src, dst, &st); err != nil {
			return found, err
		}
	}
	return found, nil
}

// clearDir removes everything inside dir, keeping dir.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func opaque(dir string) bool {
	buf := make([]byte, 1)
	n, err := unix.Lgetxattr(dir, opaqueXattr, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// mergeDir lays the entries of src over dst (an upper layer over a lower one).
func mergeDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(s, &st); err != nil {
			return err
		}
		if isWhiteout(&st) {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			var dt unix.Stat_t
			exists := unix.Lstat(d, &dt) == nil
			if exists && (dt.Mode&unix.S_IFMT != unix.S_IFDIR || opaque(s)) {
				if err := os.RemoveAll(d); err != nil {
					return err
				}
				exists = false
			}
			if !exists {
				if err := unix.Mkdir(d, 0o700); err != nil {
					return err
				}
			}
			if err := mergeDir(s, d); err != nil {
				return err
			}
			if err := copyMeta(s, d, &st); err != nil {
				return err
			}
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := copyNode(s, d, &st); err != nil {
			return err
		}
	}
	return nil
}

// copyNode copies one non-directory entry.
func copyNode(src, dst string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if err := copyFile(src, dst); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	default: // sockets are not content
		return nil
	}
	return copyMeta(src, dst, st)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMeta gives dst the owner, mode and times of src (not following symlinks).
func copyMeta(src, dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		// After chown, which clears setuid bits.
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// Fill copies the image's content at path into src, the source dir of volume
// name, when src is empty: Docker fills a volume whenever it is mounted empty.
// The store's lock keeps two containers starting at once from both copying.
func (s *Store) Fill(ctx context.Context, src string, layers []string, path string) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	empty, err := Empty(src)
	if err != nil || !empty {
		return err
	}
	_, err = CopyUp(src, layers, path)
	return err
}
