package fscopy

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func fd(f *os.File) int { return int(f.Fd()) }

// openDir opens the directory name in dirfd; a symlink there is an error
// (ELOOP), never followed.
func openDir(dirfd int, name string) (*os.File, error) {
	return openAt(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
}

// openAt opens name in dirfd without following a symlink at name; a file
// it creates has mode 0600 until its metadata is set.
func openAt(dirfd int, name string, flags int) (*os.File, error) {
	n, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(n), name), nil
}

// openRel opens the directory rel (slash-separated, "" or "." for root)
// under root one name at a time, so no symlink on the way is followed.
func openRel(root *os.File, rel string) (*os.File, error) {
	cur, err := openDir(fd(root), ".")
	if err != nil || rel == "" || rel == "." {
		return cur, err
	}
	for name := range strings.SplitSeq(rel, "/") {
		next, err := openDir(fd(cur), name)
		cur.Close()
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// readNames lists the directory dirfd, sorted (so a copy is made in the
// same order every time), through its own fd: dirfd's offset is not moved.
func readNames(dirfd int) ([]string, error) {
	f, err := openDir(dirfd, ".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

func readlinkAt(dirfd int, name string, size int) (string, error) {
	buf := make([]byte, max(size, 64)+1)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf)) // the link changed since it was stat'ed
	}
}

// removeAt deletes name in d, a directory with everything in it; a missing
// name is no error. Symlinks are removed, never followed.
func removeAt(d *os.File, name string) error {
	err := unix.Unlinkat(fd(d), name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	sub, err := openDir(fd(d), name)
	if err != nil {
		return err
	}
	err = clearDir(sub)
	sub.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(fd(d), name, unix.AT_REMOVEDIR)
}

// clearDir deletes everything in d, keeping d.
func clearDir(d *os.File) error {
	names, err := readNames(fd(d))
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := removeAt(d, name); err != nil {
			return err
		}
	}
	return nil
}

// procPath names name in the open directory dirfd for calls that have no
// *at form (lsetxattr, ...): the kernel goes straight to the open
// directory, and only name itself is looked up.
func procPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

// chmodAt sets the mode of name in dirfd, a node that cannot be opened for
// fchmod (a device or fifo), refusing a symlink (chmod would follow it).
func chmodAt(dirfd int, name string, mode uint32) error {
	n, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(n)
	var st unix.Stat_t
	if err := unix.Fstat(n, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.ELOOP
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(n), mode)
}
