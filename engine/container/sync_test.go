package container

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// syncFixture is a host tree and a directory standing for a container's
// root filesystem, with symlinks in it that lead outside when followed on
// the host.
type syncFixture struct {
	host, base, outside string
	baseFile            *os.File
	uid, gid            int
}

func newSyncFixture(t *testing.T) *syncFixture {
	t.Helper()
	f := &syncFixture{host: t.TempDir(), base: t.TempDir(), outside: t.TempDir(), uid: os.Getuid(), gid: os.Getgid()}
	if f.uid == 0 {
		f.uid, f.gid = 1000, 1000 // chown works: check it happens
	}
	os.Mkdir(filepath.Join(f.base, "etc"), 0o755)
	for _, l := range [][2]string{{"/etc", "abs"}, {"../../../../../../..", "up"}, {f.outside, "hostpath"}} {
		if err := os.Symlink(l[0], filepath.Join(f.base, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if f.baseFile, err = os.OpenFile(f.base, unix.O_PATH|unix.O_DIRECTORY, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.baseFile.Close() })
	return f
}

func (f *syncFixture) sync(t *testing.T, hostRel, ctr string) error {
	t.Helper()
	return syncOne(f.baseFile, ctr, filepath.Join(f.host, hostRel), func(fs.FileInfo) (int, int) { return f.uid, f.gid })
}

func (f *syncFixture) owner(t *testing.T, rel string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(f.base, rel))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

func TestSyncFiles(t *testing.T) {
	f := newSyncFixture(t)
	mustWrite(t, filepath.Join(f.host, "a.txt"), "one")
	os.Chmod(filepath.Join(f.host, "a.txt"), 0o640)
	if err := f.sync(t, "a.txt", "/app/deep/a.txt"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(f.base, "app", "deep", "a.txt"))
	if err != nil || string(b) != "one" {
		t.Fatalf("copy: %q, %v", b, err)
	}
	for _, p := range []string{"app", "app/deep", "app/deep/a.txt"} {
		if uid, gid := f.owner(t, p); uid != f.uid || gid != f.gid {
			t.Errorf("%s belongs to %d:%d, want the container user %d:%d", p, uid, gid, f.uid, f.gid)
		}
	}
	if fi, _ := os.Stat(filepath.Join(f.base, "app", "deep", "a.txt")); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}

	// A new content is a new file renamed over the old one: a reader
	// holding the old one keeps reading it whole.
	old, _ := os.Open(filepath.Join(f.base, "app", "deep", "a.txt"))
	defer old.Close()
	mustWrite(t, filepath.Join(f.host, "a.txt"), "two")
	if err := f.sync(t, "a.txt", "/app/deep/a.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(f.base, "app", "deep", "a.txt")); string(b) != "two" {
		t.Fatalf("after the change: %q", b)
	}
	if b := make([]byte, 3); func() bool { n, _ := old.Read(b); return string(b[:n]) != "one" }() {
		t.Error("the file was rewritten in place")
	}
	if ents, _ := os.ReadDir(filepath.Join(f.base, "app", "deep")); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}

	// Deleted on the host: deleted in the container.
	os.Remove(filepath.Join(f.host, "a.txt"))
	if err := f.sync(t, "a.txt", "/app/deep/a.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(f.base, "app", "deep", "a.txt")); !os.IsNotExist(err) {
		t.Errorf("still there after its deletion: %v", err)
	}
	// Deleting what was never there is no error.
	if err := f.sync(t, "a.txt", "/nosuch/dir/a.txt"); err != nil {
		t.Error(err)
	}
}

func TestSyncTreesAndLinks(t *testing.T) {
	f := newSyncFixture(t)
	mustWrite(t, filepath.Join(f.host, "dir", "x"), "x")
	mustWrite(t, filepath.Join(f.host, "dir", "sub", "y"), "y")
	os.Symlink("x", filepath.Join(f.host, "dir", "rel"))
	os.Symlink(f.outside, filepath.Join(f.host, "dir", "out")) // never followed
	mustWrite(t, filepath.Join(f.outside, "secret"), "s")
	if err := f.sync(t, "dir", "/app"); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{"app/x": "x", "app/sub/y": "y"} {
		if b, err := os.ReadFile(filepath.Join(f.base, rel)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", rel, b, err)
		}
	}
	if l, err := os.Readlink(filepath.Join(f.base, "app", "rel")); err != nil || l != "x" {
		t.Errorf("rel link: %q, %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(f.base, "app", "out")); err != nil || l != f.outside {
		t.Errorf("a link was not copied as a link: %q, %v", l, err)
	}

	// A file where the container has a directory replaces it, and back.
	mustWrite(t, filepath.Join(f.host, "sub"), "now a file")
	if err := f.sync(t, "sub", "/app/sub"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(f.base, "app", "sub")); string(b) != "now a file" {
		t.Errorf("file over a directory: %q", b)
	}
}

// Symlinks in the container's filesystem resolve inside it: a write never
// lands on the host, whatever they point to.
func TestSyncStaysInside(t *testing.T) {
	f := newSyncFixture(t)
	mustWrite(t, filepath.Join(f.host, "f"), "f")
	for _, ctr := range []string{"/abs/f", "/up/f", "/hostpath/f", "/up/up/x/f", "/../../f"} {
		if err := f.sync(t, "f", ctr); err != nil {
			t.Logf("%s: %v", ctr, err) // refusing is fine; escaping is not
		}
	}
	if ents, _ := os.ReadDir(f.outside); len(ents) > 0 {
		t.Fatalf("wrote outside the container: %v", ents)
	}
	if _, err := os.Stat("/etc/f"); err == nil {
		t.Fatal("wrote the host's /etc/f")
	}
	if b, err := os.ReadFile(filepath.Join(f.base, "etc", "f")); err != nil || string(b) != "f" {
		t.Errorf("/abs/f should land in the container's /etc: %q, %v", b, err)
	}
}
