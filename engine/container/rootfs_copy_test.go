package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/testutil"
)

// opaqueXattr marks an overlay directory that hides the layers below it.
const opaqueXattr = "trusted.overlay.opaque"

// layerNode is one entry of a hand-made layer directory in overlay form.
type layerNode struct {
	path string
	kind string // "file", "dir", "link", "fifo", "whiteout", "opaque" (dir), "hardlink"
	data string // file content, link target, or hardlink source
	mode uint32 // 0: 0644 files, 0755 dirs
	uid  int
	gid  int
	xatt map[string]string
}

// makeLayer writes nodes under a new directory, parents first as listed.
func makeLayer(t *testing.T, nodes ...layerNode) string {
	t.Helper()
	root := t.TempDir()
	mtime := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		var err error
		switch n.kind {
		case "file":
			err = os.WriteFile(p, []byte(n.data), 0o644)
		case "dir", "opaque":
			err = os.Mkdir(p, 0o755)
			if err == nil && n.kind == "opaque" {
				err = unix.Setxattr(p, opaqueXattr, []byte("y"), 0)
			}
		case "link":
			err = os.Symlink(n.data, p)
		case "fifo":
			err = unix.Mkfifo(p, 0o640)
		case "whiteout":
			err = unix.Mknod(p, unix.S_IFCHR, 0)
		case "hardlink":
			err = os.Link(filepath.Join(root, n.data), p)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", n.kind, n.path, err)
		}
		if n.kind == "hardlink" || n.kind == "whiteout" {
			continue
		}
		if err := unix.Lchown(p, n.uid, n.gid); err != nil {
			t.Fatal(err)
		}
		if n.mode != 0 {
			if err := unix.Chmod(p, n.mode); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range n.xatt {
			if err := unix.Lsetxattr(p, k, []byte(v), 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	// Directory times last: creating entries changed them.
	for _, n := range slices.Backward(nodes) {
		if n.kind == "dir" || n.kind == "opaque" {
			ts := unix.NsecToTimespec(mtime.UnixNano())
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(root, n.path), []unix.Timespec{ts, ts}, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// copyTestLayers are a base layer and one above it that deletes, hides and
// replaces what is below.
func copyTestLayers(t *testing.T) []string {
	base := makeLayer(t,
		layerNode{path: "etc", kind: "dir"},
		layerNode{path: "etc/keep", kind: "file", data: "keep"},
		layerNode{path: "etc/gone", kind: "file", data: "gone"},
		layerNode{path: "old", kind: "dir"},
		layerNode{path: "old/a", kind: "file", data: "a"},
		layerNode{path: "old/sub", kind: "dir"},
		layerNode{path: "old/sub/b", kind: "file", data: "b"},
		layerNode{path: "usr", kind: "dir"},
		layerNode{path: "usr/lib", kind: "dir"},
		layerNode{path: "usr/lib/libc", kind: "file", data: "libc"},
		layerNode{path: "lib", kind: "link", data: "usr/lib"},
		layerNode{path: "bin", kind: "dir"},
		layerNode{path: "bin/su", kind: "file", data: "su", mode: 0o4755, uid: 1000, gid: 1001},
		layerNode{path: "h1", kind: "file", data: "linked"},
		layerNode{path: "h2", kind: "hardlink", data: "h1"},
		layerNode{path: "h3", kind: "hardlink", data: "h1"},
		layerNode{path: "fifo", kind: "fifo", uid: 5, gid: 6},
		layerNode{path: "xattr", kind: "file", data: "x", xatt: map[string]string{"user.test": "hello"}},
		layerNode{path: "private", kind: "dir", mode: 0o750, uid: 7, gid: 8},
		layerNode{path: "private/abs", kind: "link", data: "/etc/keep", uid: 7, gid: 8},
		layerNode{path: "becomesdir", kind: "file", data: "file"},
		layerNode{path: "becomesfile", kind: "dir"},
		layerNode{path: "becomesfile/x", kind: "file", data: "x"},
	)
	top := makeLayer(t,
		layerNode{path: "etc", kind: "dir", mode: 0o711},
		layerNode{path: "etc/gone", kind: "whiteout"},
		layerNode{path: "old", kind: "opaque"},
		layerNode{path: "old/new", kind: "file", data: "new"},
		// A directory over the lower symlink: nothing may be written through it.
		layerNode{path: "lib", kind: "dir"},
		layerNode{path: "lib/extra", kind: "file", data: "extra"},
		layerNode{path: "becomesdir", kind: "dir"},
		layerNode{path: "becomesdir/inner", kind: "file", data: "inner"},
		layerNode{path: "becomesfile", kind: "file", data: "now a file"},
		layerNode{path: "h1", kind: "file", data: "replaced"},
	)
	return []string{base, top}
}

// listTree describes every node under root: type, mode, owner, times,
// content, link target and xattrs, so two trees compare as text.
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
		line := fmt.Sprintf("%s mode=%o uid=%d gid=%d mtime=%d", rel, st.Mode, st.Uid, st.Gid, st.Mtim.Nano())
		if rel == "." {
			line = fmt.Sprintf(". mode=%o", st.Mode) // the mount point's own times differ
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " sha256=" + hex.EncodeToString(sum[:8])
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			line += " -> " + l
		}
		if sz, err := unix.Llistxattr(p, nil); err == nil && sz > 0 {
			buf := make([]byte, sz)
			n, _ := unix.Llistxattr(p, buf)
			names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
			slices.Sort(names)
			for _, name := range names {
				if name == "" {
					continue // overlay leaves the names it hides empty
				}
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

// TestCopyRootfsMatchesOverlay copies layers and compares the result with
// what a read-only overlay mount of the same layers shows.
func TestCopyRootfsMatchesOverlay(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	layers := copyTestLayers(t)
	dir := t.TempDir()
	if err := copyRootfs(dir, layers); err != nil {
		t.Fatal(err)
	}
	got := listTree(t, mergedDir(dir))

	mnt := t.TempDir()
	lowers := slices.Clone(layers)
	slices.Reverse(lowers)
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lowers, ":")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	want := listTree(t, mnt)
	if !slices.Equal(got, want) {
		t.Errorf("copy differs from overlay:\ncopy:\n%s\noverlay:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Spot checks, in case both were wrong the same way.
	m := mergedDir(dir)
	for _, gone := range []string{"etc/gone", "old/a", "old/sub", "lib/libc", "becomesfile/x"} {
		if _, err := os.Lstat(filepath.Join(m, gone)); err == nil {
			t.Errorf("%s should be gone: %v", gone, err)
		}
	}
	for path, want := range map[string]string{"etc/keep": "keep", "old/new": "new", "lib/extra": "extra", "usr/lib/libc": "libc", "becomesfile": "now a file", "h1": "replaced", "h2": "linked"} {
		if b, err := os.ReadFile(filepath.Join(m, path)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", path, b, err, want)
		}
	}
	var h2, h3 unix.Stat_t
	if unix.Lstat(filepath.Join(m, "h2"), &h2) != nil || unix.Lstat(filepath.Join(m, "h3"), &h3) != nil || h2.Ino != h3.Ino {
		t.Errorf("hard links h2 and h3 not kept: inodes %d, %d", h2.Ino, h3.Ino)
	}
	if _, err := os.Lstat(filepath.Join(layers[0], "usr", "lib", "extra")); !os.IsNotExist(err) {
		t.Errorf("the copy wrote through a lower layer's symlink: %v", err)
	}
}

func TestCopyRootfsKeptAcrossStarts(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	layers := copyTestLayers(t)
	dir := t.TempDir()
	if err := copyRootfs(dir, layers); err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(mergedDir(dir), "etc", "keep")
	if err := os.WriteFile(changed, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mountRootfs(dir, layers); err != nil { // a restart
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(changed); string(b) != "changed" {
		t.Errorf("the container's change was lost: %q", b)
	}
	if m, _ := os.ReadDir(rootfsDir(dir)); len(m) != 2 {
		t.Errorf("rootfs holds %v, want merged and the marker only", m)
	}
}

// TestCopiedRootfsContainer runs containers with COMPOSE_STORAGE_DRIVER=vfs:
// files of every layer are there, whiteouts applied, and the copy keeps the
// container's changes across restarts without any mount on the host.
func TestCopiedRootfsContainer(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Setenv(StorageDriverEnv, "vfs") // inherited by the supervisor
	rt := testRuntime(t)
	spec := newSpec(t, rt, "sh", "-c", "cat /etc/motd; ls /bin/true 2>/dev/null || echo no true; echo run >> /root/count; cat /root/count | wc -l")
	spec.Lower = append(spec.Lower, makeLayer(t,
		layerNode{path: "etc", kind: "dir"},
		layerNode{path: "etc/motd", kind: "file", data: "from the top layer\n"},
		layerNode{path: "bin", kind: "dir"},
		layerNode{path: "bin/true", kind: "whiteout"},
	))
	for i := 1; i <= 2; i++ {
		st := run(t, rt, spec)
		if st.ExitCode != 0 {
			t.Fatalf("run %d: %+v, stderr %q", i, st, readLog(t, spec.Dir, "stderr"))
		}
		// The supervisor records the exit, then exits itself.
		testutil.Eventually(t, 10*time.Second, "nothing left on the host", func() bool { return len(leftovers(spec.Dir, spec.ID)) == 0 })
	}
	want := "from the top layer\nno true\n1\nfrom the top layer\nno true\n2\n"
	if got := readLog(t, spec.Dir, "stdout"); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if !isCopied(spec.Dir) {
		t.Error("no copied marker")
	}
	if ok, err := OverlaySupported(t.TempDir()); ok || err != nil {
		t.Errorf("OverlaySupported with %s=vfs = %v, %v", StorageDriverEnv, ok, err)
	}
}

// TestRootfsFallsBackOnOverlay puts the container's Dir on an overlayfs,
// where the kernel refuses an overlay upper dir (EINVAL): the container
// still runs, on a copy, and the warning names the filesystem.
func TestRootfsFallsBackOnOverlay(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	base := t.TempDir()
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(base, "m")
	if err := unix.Mount("overlay", state, "overlay", 0, overlayData([]string{filepath.Join(base, "l")}, filepath.Join(base, "u"), filepath.Join(base, "w"))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(state, unix.MNT_DETACH) }) // runs after the container's cleanup below

	ok, err := OverlaySupported(state)
	if ok || err != nil {
		t.Fatalf("OverlaySupported(on overlay) = %v, %v; want false", ok, err)
	}
	if ok, err := OverlaySupported(t.TempDir()); !ok || err != nil {
		t.Errorf("OverlaySupported(on %s) = %v, %v; want true", fsName(os.TempDir()), ok, err)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("the probe left %v", left)
	}
	warning := StorageWarning(state)
	if want := "overlayfs is not available on overlay (" + state + "); using copied root filesystems (slower, more disk)"; warning != want {
		t.Errorf("warning %q, want %q", warning, want)
	}
	if again := StorageWarning(state); again != "" {
		t.Errorf("second warning %q, want none", again)
	}

	rt := testRuntime(t)
	dir := filepath.Join(state, "ctr")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := Spec{ID: newID(t), Name: t.Name(), Dir: dir, Args: []string{"sh", "-c", "echo hi > /tmp/f; cat /tmp/f"}, Lower: []string{busyboxLayer(t)}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = rt.Stop(ctx, dir, 0)
		if err := rt.Remove(ctx, dir); err != nil {
			t.Errorf("cleanup: remove: %v", err)
		}
	})
	st := run(t, rt, spec)
	if got := readLog(t, dir, "stdout"); st.ExitCode != 0 || got != "hi\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q, error %q", st.ExitCode, got, readLog(t, dir, "stderr"), st.Error)
	}
	if !isCopied(dir) {
		t.Error("the container did not get a copied rootfs")
	}
}

func TestOverlayUnsupported(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("mount rootfs overlay: %w", unix.ENODEV), true},
		{fmt.Errorf("mount rootfs overlay: %w", unix.EINVAL), true},
		{unix.EOPNOTSUPP, true},
		{fmt.Errorf("mount rootfs overlay: %w", unix.EPERM), false},
		{unix.ENOENT, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := overlayUnsupported(tt.err); got != tt.want {
			t.Errorf("overlayUnsupported(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
