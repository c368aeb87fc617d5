package volumes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/testutil"
)

// opaqueXattr marks an overlay directory that hides the layers below it.
const opaqueXattr = "trusted.overlay.opaque"

func TestStoreLifecycle(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	v, err := s.Create(t.Context(), "proj_data", map[string]string{"a": "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Mountpoint != filepath.Join(s.Dir, "proj_data", "_data") || v.Driver != Driver {
		t.Errorf("volume = %+v", v)
	}
	if _, err := s.Create(t.Context(), "proj_data", nil, nil); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	if got, err := s.Get("proj_data"); err != nil || got.Labels["a"] != "b" {
		t.Errorf("get = %+v, %v", got, err)
	}
	if src, err := s.Source(v); err != nil || src != v.Mountpoint {
		t.Errorf("source = %q, %v", src, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Errorf("list = %v, %v", list, err)
	}
	if err := s.Remove(t.Context(), "proj_data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("proj_data"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get after remove: %v", err)
	}
	if err := s.Remove(t.Context(), "proj_data"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name   string
		driver string
		opts   map[string]string
		err    error
	}{
		{"ok", "", nil, nil},
		{"local", "local", nil, nil},
		{"bind", "", map[string]string{"type": "none", "o": "bind", "device": dir}, nil},
		{"tmpfs", "", map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"}, nil},
		{"other driver", "nfs", nil, errdefs.ErrInvalidArgument},
		{"bind without o", "", map[string]string{"type": "none", "device": dir}, errdefs.ErrInvalidArgument},
		{"relative device", "", map[string]string{"type": "none", "o": "bind", "device": "rel"}, errdefs.ErrInvalidArgument},
		{"missing device", "", map[string]string{"type": "none", "o": "bind", "device": filepath.Join(dir, "nope")}, errdefs.ErrNotFound},
		{"file device", "", map[string]string{"type": "none", "o": "bind", "device": file}, errdefs.ErrInvalidArgument},
		{"tmpfs option", "", map[string]string{"type": "tmpfs", "o": "exec"}, errdefs.ErrInvalidArgument},
		{"nfs", "", map[string]string{"type": "nfs", "o": "addr=1.2.3.4"}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		err := ValidateOptions("v", tt.driver, tt.opts)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
	for _, n := range []string{"", "a", "-x", "a/b", "..", "a b"} {
		if err := ValidateName(n); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ValidateName(%q) = %v", n, err)
		}
	}
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func TestCopyUpMergesLayers(t *testing.T) {
	l0, l1, dst := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, filepath.Join(l0, "data", "a"), "a0", 0o600)
	write(t, filepath.Join(l0, "data", "sub", "c"), "c", 0o644)
	write(t, filepath.Join(l1, "data", "a"), "a1", 0o640)
	write(t, filepath.Join(l1, "data", "b"), "b", 0o644)
	os.Chmod(filepath.Join(l1, "data"), 0o750)
	os.Symlink("/etc", filepath.Join(l1, "data", "link"))
	found, err := CopyUp(dst, []string{l0, l1}, "/data")
	if err != nil || !found {
		t.Fatalf("CopyUp = %v, %v", found, err)
	}
	if got := names(t, dst); !slices.Equal(got, []string{"a", "b", "link", "sub", "sub/c"}) {
		t.Errorf("copied %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a")); string(b) != "a1" {
		t.Errorf("a = %q, want the upper layer's", b)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "a")); fi.Mode().Perm() != 0o640 {
		t.Errorf("a mode %v", fi.Mode())
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o750 {
		t.Errorf("volume root mode %v, want the image dir's 0750", fi.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(dst, "link")); l != "/etc" {
		t.Errorf("symlink = %q", l)
	}
	// Missing in the image: nothing copied.
	empty := t.TempDir()
	if found, err := CopyUp(empty, []string{l0, l1}, "/nothing"); err != nil || found {
		t.Errorf("CopyUp of a missing path = %v, %v", found, err)
	}
}

// A symlink in the image at (or above) the path is resolved inside the layer.
func TestCopyUpSymlinkStaysInLayer(t *testing.T) {
	host := t.TempDir()
	write(t, filepath.Join(host, "secret"), "host", 0o600)
	l0, dst := t.TempDir(), t.TempDir()
	os.Symlink(host, filepath.Join(l0, "data"))
	if _, err := CopyUp(dst, []string{l0}, "/data"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dst); len(got) != 0 {
		t.Errorf("copied host files through a symlink: %v", got)
	}
}

func TestCopyUpWhiteouts(t *testing.T) {
	testutil.RequiresRoot(t)
	l0, l1, l2, dst := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	write(t, filepath.Join(l0, "data", "gone"), "x", 0o644)
	write(t, filepath.Join(l0, "data", "dir", "old"), "x", 0o644)
	write(t, filepath.Join(l0, "data", "keep"), "x", 0o644)
	os.MkdirAll(filepath.Join(l1, "data", "dir"), 0o755)
	write(t, filepath.Join(l1, "data", "dir", "new"), "x", 0o644)
	if err := unix.Setxattr(filepath.Join(l1, "data", "dir"), opaqueXattr, []byte("y"), 0); err != nil {
		t.Skipf("no trusted xattrs here: %v", err)
	}
	if err := unix.Mknod(filepath.Join(l1, "data", "gone"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(l2, "data", "owned"), "x", 0o600)
	os.Chown(filepath.Join(l2, "data", "owned"), 1234, 5678)
	if _, err := CopyUp(dst, []string{l0, l1, l2}, "/data"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dst); !slices.Equal(got, []string{"dir", "dir/new", "keep", "owned"}) {
		t.Errorf("copied %v", got)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dst, "owned"), &st); err != nil || st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("owner %d:%d, %v", st.Uid, st.Gid, err)
	}
}

// TestCopyUpKeepsXattrs: as with Docker, the copy keeps extended attributes
// and file capabilities (security.capability) of the image's files.
func TestCopyUpKeepsXattrs(t *testing.T) {
	l0, dst := t.TempDir(), t.TempDir()
	file := filepath.Join(l0, "data", "bin", "tool")
	write(t, file, "tool", 0o755)
	if err := unix.Setxattr(file, "user.origin", []byte("image"), 0); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	if _, err := CopyUp(dst, []string{l0}, "/data"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(filepath.Join(dst, "bin", "tool"), "user.origin", buf); err != nil || string(buf[:n]) != "image" {
		t.Errorf("user.origin = %q, %v", buf[:max(n, 0)], err)
	}

	t.Run("capabilities", func(t *testing.T) {
		testutil.RequiresRoot(t)
		l0, dst := t.TempDir(), t.TempDir()
		file := filepath.Join(l0, "data", "ping")
		write(t, file, "ping", 0o755)
		// VFS_CAP_REVISION_2, effective: CAP_NET_RAW (13).
		capNetRaw := []byte{0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		if err := unix.Setxattr(file, "security.capability", capNetRaw, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := CopyUp(dst, []string{l0}, "/data"); err != nil {
			t.Fatal(err)
		}
		n, err := unix.Getxattr(filepath.Join(dst, "ping"), "security.capability", buf)
		if err != nil || !slices.Equal(buf[:n], capNetRaw) {
			t.Errorf("security.capability = %x, %v; want %x", buf[:max(n, 0)], err, capNetRaw)
		}
	})
}

func TestTmpfsVolume(t *testing.T) {
	testutil.RequiresRoot(t)
	s := &Store{Dir: t.TempDir()}
	v, err := s.Create(t.Context(), "tmpvol", nil, map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(v.Mountpoint, unix.MNT_DETACH) })
	src, err := s.Source(v)
	if err != nil || !mounted(src) {
		t.Fatalf("source %q mounted=%v, %v", src, mounted(src), err)
	}
	if _, err := s.Source(v); err != nil { // mounted once only
		t.Fatal(err)
	}
	if err := s.Remove(t.Context(), "tmpvol"); err != nil || mounted(v.Mountpoint) {
		t.Fatalf("remove: %v", err)
	}
}

// TestTmpfsVolumeRemount: after a reboot took its tmpfs away, Remount
// mounts it again, once however many containers start at the same time.
func TestTmpfsVolumeRemount(t *testing.T) {
	testutil.RequiresRoot(t)
	s := &Store{Dir: t.TempDir()}
	v, err := s.Create(t.Context(), "tmpvol", nil, map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for mounted(v.Mountpoint) {
			unix.Unmount(v.Mountpoint, unix.MNT_DETACH)
		}
	})
	if _, err := s.Source(v); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(v.Mountpoint, unix.MNT_DETACH); err != nil { // the reboot
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := s.Remount(t.Context(), "tmpvol"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if n := strings.Count(string(mi), " "+v.Mountpoint+" "); n != 1 {
		t.Fatalf("%s is mounted %d times", v.Mountpoint, n)
	}
	plain, err := s.Create(t.Context(), "plainvol", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remount(t.Context(), "plainvol"); err != nil || mounted(plain.Mountpoint) {
		t.Fatalf("Remount of a plain volume: mounted %v, %v", mounted(plain.Mountpoint), err)
	}
	if err := s.Remove(t.Context(), "tmpvol"); err != nil || mounted(v.Mountpoint) {
		t.Fatalf("remove: %v", err)
	}
}
