package fscopy

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/testutil"
)

var mtime = unix.NsecToTimespec(time.Date(2023, 5, 6, 7, 8, 9, 123456789, time.UTC).UnixNano())

// tree builds test trees; every step fails the test on error.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) tree { return tree{t, t.TempDir()} }

func (tr tree) p(rel string) string { return filepath.Join(tr.root, rel) }

func (tr tree) check(err error) {
	tr.t.Helper()
	if err != nil {
		tr.t.Fatal(err)
	}
}

func (tr tree) file(rel, data string, mode uint32) {
	tr.t.Helper()
	tr.check(os.MkdirAll(filepath.Dir(tr.p(rel)), 0o755))
	tr.check(os.WriteFile(tr.p(rel), []byte(data), 0o600))
	tr.check(unix.Chmod(tr.p(rel), mode))
	tr.touch(rel)
}

func (tr tree) dir(rel string, mode uint32) {
	tr.t.Helper()
	tr.check(os.MkdirAll(tr.p(rel), 0o755))
	tr.check(unix.Chmod(tr.p(rel), mode))
}

func (tr tree) symlink(rel, target string) {
	tr.t.Helper()
	tr.check(os.Symlink(target, tr.p(rel)))
	tr.touch(rel)
}

func (tr tree) touch(rel string) {
	tr.t.Helper()
	tr.check(unix.UtimesNanoAt(unix.AT_FDCWD, tr.p(rel), []unix.Timespec{mtime, mtime}, unix.AT_SYMLINK_NOFOLLOW))
}

// xattr sets an extended attribute, skipping the test where the filesystem
// takes none.
func (tr tree) xattr(rel, name, value string) {
	tr.t.Helper()
	err := unix.Lsetxattr(tr.p(rel), name, []byte(value), 0)
	if errors.Is(err, unix.ENOTSUP) {
		tr.t.Skipf("no %s xattrs on this filesystem", name)
	}
	tr.check(err)
}

// dirTimes sets every directory's times, deepest first, as the last step.
func (tr tree) dirTimes() {
	tr.t.Helper()
	var dirs []string
	tr.check(filepath.WalkDir(tr.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	}))
	for _, d := range slices.Backward(dirs) {
		tr.check(unix.UtimesNanoAt(unix.AT_FDCWD, d, []unix.Timespec{mtime, mtime}, 0))
	}
}

// listTree describes every node under root (type and mode, owner, mtime,
// content, link target, device number, xattrs), so trees compare as text.
// Sockets are left out: a copy skips them.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
			return nil
		}
		line := fmt.Sprintf("%s mode=%o uid=%d gid=%d mtime=%d", rel, st.Mode, st.Uid, st.Gid, st.Mtim.Nano())
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" data=%q", b)
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case unix.S_IFCHR, unix.S_IFBLK:
			line += fmt.Sprintf(" dev=%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		if sz, err := unix.Llistxattr(p, nil); err == nil && sz > 0 {
			buf := make([]byte, sz)
			n, _ := unix.Llistxattr(p, buf)
			names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
			slices.Sort(names)
			for _, name := range names {
				v := make([]byte, 256)
				vn, _ := unix.Lgetxattr(p, name, v)
				line += fmt.Sprintf(" %s=%q", name, v[:max(vn, 0)])
			}
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, got, want string) {
	t.Helper()
	g, w := listTree(t, got), listTree(t, want)
	if !slices.Equal(g, w) {
		t.Errorf("copy differs from its source:\ncopy:\n%s\nsource:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// capV2 is a security.capability value (VFS_CAP_REVISION_2, effective)
// granting CAP_NET_BIND_SERVICE.
var capV2 = string([]byte{0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

// TestCopyKeepsEverything copies every kind of node with owners, modes,
// times, xattrs and file capabilities.
func TestCopyKeepsEverything(t *testing.T) {
	testutil.RequiresRoot(t)
	src := newTree(t)
	src.file("bin/ping", "ping", 0o4755)
	src.check(os.Lchown(src.p("bin/ping"), 1000, 1001))
	src.check(unix.Chmod(src.p("bin/ping"), 0o4755)) // chown cleared setuid
	src.xattr("bin/ping", "security.capability", capV2)
	src.xattr("bin/ping", "user.note", "hello")
	src.dir("private", 0o750)
	src.check(os.Lchown(src.p("private"), 7, 8))
	src.xattr("private", "user.dir", "d")
	src.symlink("private/abs", "/etc/passwd")
	src.check(os.Lchown(src.p("private/abs"), 7, 8))
	src.symlink("rel", "bin/ping")
	src.check(os.MkdirAll(src.p("dev"), 0o755))
	src.check(unix.Mknod(src.p("dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	src.check(unix.Mknod(src.p("dev/loop9"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 9))))
	src.check(unix.Mknod(src.p("dev/zero0"), unix.S_IFCHR|0o600, 0)) // a plain copy keeps a 0:0 device
	src.check(unix.Mkfifo(src.p("dev/fifo"), 0o640))
	src.check(unix.Chmod(src.p("dev/fifo"), 0o640)) // past the umask
	src.check(os.Lchown(src.p("dev/fifo"), 5, 6))
	for _, n := range []string{"dev/null", "dev/loop9", "dev/zero0", "dev/fifo"} {
		src.touch(n)
	}
	l, err := net.Listen("unix", src.p("sock"))
	src.check(err)
	defer l.Close()
	src.dirTimes()

	dst := t.TempDir()
	if err := Copy(dst, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dst, src.root)
	if _, err := os.Lstat(filepath.Join(dst, "sock")); !os.IsNotExist(err) {
		t.Errorf("socket copied: %v", err)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(dst, "bin/ping"), "security.capability", buf); err != nil || string(buf[:n]) != capV2 {
		t.Errorf("file capability = %x, %v", buf[:max(n, 0)], err)
	}
}

// TestCopyXattrs needs no root: user.* attributes of files and directories.
func TestCopyXattrs(t *testing.T) {
	src := newTree(t)
	src.file("d/f", "x", 0o644)
	src.xattr("d/f", "user.a", "1")
	src.xattr("d/f", "user.big", strings.Repeat("v", 3000))
	src.xattr("d", "user.b", "2")
	src.dirTimes()
	dst := t.TempDir()
	if err := Copy(dst, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dst, src.root)
	buf := make([]byte, 4096)
	if n, err := unix.Getxattr(filepath.Join(dst, "d/f"), "user.big", buf); err != nil || n != 3000 {
		t.Errorf("user.big: %d bytes, %v", n, err)
	}
}

func TestCopyHardLinks(t *testing.T) {
	src := newTree(t)
	src.file("a", "linked", 0o644)
	src.check(os.MkdirAll(src.p("sub"), 0o755))
	src.check(os.Link(src.p("a"), src.p("b")))
	src.check(os.Link(src.p("a"), src.p("sub/c")))
	src.file("other", "linked", 0o644)
	src.symlink("sl", "a")
	src.check(os.Link(src.p("sl"), src.p("sl2"))) // a hard link to the symlink itself
	src.dirTimes()
	dst := t.TempDir()
	if err := Copy(dst, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dst, src.root)
	a := ino(t, filepath.Join(dst, "a"))
	if ino(t, filepath.Join(dst, "b")) != a || ino(t, filepath.Join(dst, "sub/c")) != a {
		t.Error("hard links were duplicated")
	}
	if a == ino(t, src.p("a")) || ino(t, filepath.Join(dst, "other")) == a {
		t.Error("the copy is linked to something else")
	}
	if ino(t, filepath.Join(dst, "sl")) != ino(t, filepath.Join(dst, "sl2")) {
		t.Error("hard-linked symlinks were duplicated")
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dst, "a"), &st); err != nil || st.Nlink != 3 {
		t.Errorf("a has %d links, %v", st.Nlink, err)
	}
}

// TestCopySymlinksNotFollowed: symlinks in the source are copied as links,
// whatever they point at, and nothing is read through them.
func TestCopySymlinksNotFollowed(t *testing.T) {
	host := newTree(t)
	host.file("secret", "host", 0o644)
	src := newTree(t)
	src.symlink("file", host.p("secret"))
	src.symlink("dir", host.root)
	src.symlink("dangling", "../../nowhere")
	dst := t.TempDir()
	if err := Copy(dst, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"file": host.p("secret"), "dir": host.root, "dangling": "../../nowhere"} {
		if got, err := os.Readlink(filepath.Join(dst, name)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestCopyConfinedToDst fills a destination whose names are symlinks out
// of it: they are replaced, and nothing outside changes.
func TestCopyConfinedToDst(t *testing.T) {
	outside := newTree(t)
	outside.file("file", "outside", 0o644)
	outside.dir("lib", 0o755)
	before := listTree(t, outside.root)

	dst := newTree(t)
	dst.symlink("lib", outside.p("lib"))
	dst.symlink("file", outside.p("file"))
	dst.symlink("up", "..")
	dst.dir("deep", 0o755)
	dst.symlink("deep/link", outside.root)

	src := newTree(t)
	src.file("lib/x", "x", 0o644)
	src.file("file", "inside", 0o644)
	src.file("up/escape", "no", 0o644)
	src.file("deep/link/a/b", "b", 0o644)
	src.check(os.Link(src.p("lib/x"), src.p("deep/link/a/x"))) // linked through the copies, not the links
	src.dirTimes()
	if err := Copy(dst.root, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	if after := listTree(t, outside.root); !slices.Equal(after, before) {
		t.Errorf("outside the destination changed:\n%s\nwas:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dst.root), "escape")); err == nil {
		t.Error("wrote through dst/up")
	}
	sameTree(t, dst.root, src.root)

	// The destination itself must be a directory, not a link to one.
	link := filepath.Join(t.TempDir(), "link")
	dst.check(os.Symlink(outside.root, link))
	if err := Copy(link, src.root, Options{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("copy into a symlink: %v, want invalid argument", err)
	}
	if err := Copy(dst.root, src.p("file"), Options{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("copy from a file: %v, want invalid argument", err)
	}
}

// TestCopyReplaces: entries of src replace those of dst; directories merge.
func TestCopyReplaces(t *testing.T) {
	dst := newTree(t)
	dst.file("keep", "keep", 0o644)
	dst.file("d/old", "old", 0o644)
	dst.file("f2d", "file", 0o644)
	dst.file("d2f/inner", "x", 0o644)
	dst.file("same", "old", 0o644)
	src := newTree(t)
	src.file("d/new", "new", 0o644)
	src.file("f2d/inner", "inner", 0o644)
	src.file("d2f", "now a file", 0o600)
	src.file("same", "new", 0o600)
	src.dirTimes()
	if err := Copy(dst.root, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"keep": "keep", "d/old": "old", "d/new": "new", "f2d/inner": "inner", "d2f": "now a file", "same": "new"}
	for rel, data := range want {
		if b, err := os.ReadFile(filepath.Join(dst.root, rel)); err != nil || string(b) != data {
			t.Errorf("%s = %q, %v; want %q", rel, b, err, data)
		}
	}
	if _, err := os.Lstat(filepath.Join(dst.root, "d2f/inner")); err == nil {
		t.Error("d2f/inner survived")
	}
}

// TestLayerWhiteouts applies a layer whose whiteouts delete files,
// directories and symlinks (never what a symlink points at).
func TestLayerWhiteouts(t *testing.T) {
	testutil.RequiresRoot(t)
	outside := newTree(t)
	outside.file("target", "t", 0o644)
	dst := newTree(t)
	dst.file("gone", "x", 0o644)
	dst.file("dir/a", "a", 0o644)
	dst.file("keep", "keep", 0o644)
	dst.symlink("link", outside.p("target"))
	layer := newTree(t)
	for _, name := range []string{"gone", "dir", "link", "never"} {
		layer.check(unix.Mknod(layer.p(name), unix.S_IFCHR, 0))
	}
	layer.file("new", "new", 0o644)
	if err := Copy(dst.root, layer.root, Options{Layer: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadDir(dst.root)
	var names []string
	for _, e := range got {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"keep", "new"}) {
		t.Errorf("after the layer: %v, want keep and new", names)
	}
	if _, err := os.Stat(outside.p("target")); err != nil {
		t.Errorf("whiteout of a symlink removed its target: %v", err)
	}
}

func TestLayerOpaqueDirs(t *testing.T) {
	testutil.RequiresRoot(t)
	lower := func() tree {
		dst := newTree(t)
		dst.file("a", "a", 0o644)
		dst.file("d/old", "old", 0o644)
		dst.file("d/sub/deep", "deep", 0o644)
		dst.xattr("d", "user.lower", "x")
		return dst
	}
	layer := newTree(t)
	layer.file("d/new", "new", 0o644)
	layer.file("b", "b", 0o644)
	layer.xattr("d", opaqueXattr, "y")
	layer.xattr(".", opaqueXattr, "y")

	tests := []struct {
		name string
		opts Options
		want []string
	}{
		// A layer's root is not opaque; d hides the lower d, its xattrs too.
		{"layer", Options{Layer: true}, []string{"a", "b", "d", "d/new"}},
		// A directory inside a layer: opaque, it hides everything in dst.
		{"opaque root", Options{Layer: true, OpaqueRoot: true}, []string{"b", "d", "d/new"}},
		// Not a layer: the mark means nothing and is not copied.
		{"plain", Options{}, []string{"a", "b", "d", "d/new", "d/old", "d/sub", "d/sub/deep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := lower()
			if err := Copy(dst.root, layer.root, tt.opts); err != nil {
				t.Fatal(err)
			}
			var got []string
			dst.check(filepath.WalkDir(dst.root, func(p string, d fs.DirEntry, err error) error {
				if rel, _ := filepath.Rel(dst.root, p); rel != "." {
					got = append(got, rel)
				}
				return err
			}))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			buf := make([]byte, 8)
			if _, err := unix.Getxattr(dst.p("d"), opaqueXattr, buf); err == nil {
				t.Error("the opaque mark was copied")
			}
			_, err := unix.Getxattr(dst.p("d"), "user.lower", buf)
			if lowerKept := err == nil; lowerKept != (tt.name == "plain") {
				t.Errorf("the lower d's xattr kept: %v", lowerKept)
			}
		})
	}
}

// TestCopyFifos needs no root; devices do.
func TestCopyFifosAndDevices(t *testing.T) {
	src := newTree(t)
	src.check(unix.Mkfifo(src.p("fifo"), 0o600))
	src.check(unix.Chmod(src.p("fifo"), 0o642))
	src.touch("fifo")
	dst := t.TempDir()
	if err := Copy(dst, src.root, Options{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dst, src.root)

	t.Run("devices", func(t *testing.T) {
		testutil.RequiresRoot(t)
		src := newTree(t)
		src.check(unix.Mknod(src.p("tty"), unix.S_IFCHR|0o620, int(unix.Mkdev(5, 0))))
		src.check(unix.Mknod(src.p("sda"), unix.S_IFBLK|0o660, int(unix.Mkdev(8, 0))))
		src.check(unix.Chmod(src.p("tty"), 0o620))
		src.check(unix.Chmod(src.p("sda"), 0o660))
		src.check(os.Lchown(src.p("tty"), 0, 5))
		src.touch("tty")
		src.touch("sda")
		dst := t.TempDir()
		if err := Copy(dst, src.root, Options{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, dst, src.root)
	})
}
