package image

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/testutil"
)

// entry is one crafted tar entry.
type entry struct {
	name, link string
	typ        byte
	mode       int64
	body       string
	xattrs     map[string]string
}

func makeTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if e.typ == tar.TypeDir {
				mode = 0o755
			}
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body)),
			ModTime: time.Unix(1700000000, 0), Uid: os.Getuid(), Gid: os.Getgid(), Format: tar.FormatPAX}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords[paxXattrPrefix+k] = v
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reg(name, body string) entry     { return entry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) entry           { return entry{name: name, typ: tar.TypeDir} }
func symlink(name, to string) entry   { return entry{name: name, typ: tar.TypeSymlink, link: to} }
func hardlink(name, to string) entry  { return entry{name: name, typ: tar.TypeLink, link: to} }
func withMode(e entry, m int64) entry { e.mode = m; return e }

// sandbox returns base/a/b/layer so that a ".." escape would land inside
// base, where the test can see it; it also makes base/outside, a directory a
// followed symlink would write into.
func sandbox(t *testing.T) (base, layer string) {
	base = t.TempDir()
	layer = filepath.Join(base, "a", "b", "layer")
	for _, d := range []string{layer, filepath.Join(base, "outside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return base, layer
}

// outsideFiles lists what exists under base but not inside the layer.
func outsideFiles(t *testing.T, base, layer string) []string {
	var found []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == layer {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			found = append(found, strings.TrimPrefix(p, base))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestExtractConfinement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries func(base string) []entry
		wantErr bool
		inside  []string // paths that must exist in the layer afterwards
	}{
		{
			name:    "dotdot",
			entries: func(string) []entry { return []entry{reg("../../x", "pwned")} },
			wantErr: true,
		},
		{
			name:    "dotdot in the middle",
			entries: func(string) []entry { return []entry{reg("etc/../../../x", "pwned")} },
			wantErr: true,
		},
		{
			name:    "absolute path is confined",
			entries: func(string) []entry { return []entry{reg("/abs", "ok"), reg("/../../abs2", "ok")} },
			inside:  []string{"abs", "abs2"},
		},
		{
			name: "symlink to root then a file below it",
			entries: func(string) []entry {
				return []entry{symlink("evil", "/"), reg("evil/etc/pwned", "pwned")}
			},
			wantErr: true,
		},
		{
			name: "absolute symlink to outside then a file below it",
			entries: func(base string) []entry {
				return []entry{symlink("evil", filepath.Join(base, "outside")), reg("evil/pwned", "pwned")}
			},
			wantErr: true,
		},
		{
			name: "relative symlink climbing out then a file below it",
			entries: func(string) []entry {
				return []entry{symlink("evil", "../../../outside"), reg("evil/pwned", "pwned")}
			},
			wantErr: true,
		},
		{
			name: "symlink replaced by a file is not followed",
			entries: func(base string) []entry {
				return []entry{symlink("evil", filepath.Join(base, "outside", "f")), reg("evil", "ok")}
			},
			inside: []string{"evil"},
		},
		{
			name:    "hard link to outside",
			entries: func(string) []entry { return []entry{hardlink("h", "../../outside")} },
			wantErr: true,
		},
		{
			name: "hard link through a symlinked dir",
			entries: func(base string) []entry {
				return []entry{symlink("d", filepath.Join(base, "outside")), hardlink("h", "d/secret")}
			},
			wantErr: true,
		},
		{
			name: "dangling symlinks are stored as they are",
			entries: func(string) []entry {
				return []entry{symlink("root", "/"), symlink("up", "../../../..")}
			},
			inside: []string{"root", "up"},
		},
		{
			name: "regular layer",
			entries: func(string) []entry {
				return []entry{dir("etc/"), reg("etc/passwd", "root"), hardlink("etc/passwd2", "etc/passwd"),
					symlink("etc/p", "passwd"), reg("usr/bin/tool", "x")}
			},
			inside: []string{"etc/passwd", "etc/passwd2", "etc/p", "usr/bin/tool"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, layer := sandbox(t)
			// A file the "hard link through a symlinked dir" case would reach.
			if err := os.WriteFile(filepath.Join(base, "outside", "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := extractLayer(t.Context(), layer, bytes.NewReader(makeTar(t, tt.entries(base)...)))
			t.Log(err)
			if tt.wantErr {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("want invalid argument error, got %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := outsideFiles(t, base, layer); len(got) != 1 || got[0] != "/outside/secret" {
				t.Fatalf("files outside the layer: %v", got)
			}
			for _, p := range tt.inside {
				if _, err := os.Lstat(filepath.Join(layer, p)); err != nil {
					t.Errorf("missing %s: %v", p, err)
				}
			}
		})
	}
}

func TestExtractMetadata(t *testing.T) {
	t.Parallel()
	_, layer := sandbox(t)
	tarball := makeTar(t,
		withMode(dir("ro/"), 0o555),
		reg("ro/f", "hello"),
		withMode(reg("exe", "#!/bin/sh"), 0o4755),
		withMode(dir("tmp/"), 0o1777),
		symlink("link", "exe"),
		// a later entry replaces an earlier one; a dir stays a dir
		reg("twice", "first"), reg("twice", "second"),
		dir("d/"), reg("d/x", "1"), dir("d/"),
	)
	if err := extractLayer(t.Context(), layer, bytes.NewReader(tarball)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(layer, "ro"), 0o755) })
	modes := map[string]fs.FileMode{
		"ro":  fs.ModeDir | 0o555,
		"exe": fs.ModeSetuid | 0o755,
		"tmp": fs.ModeDir | fs.ModeSticky | 0o777,
	}
	for p, want := range modes {
		st, err := os.Lstat(filepath.Join(layer, p))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode(), want)
		}
		if !st.ModTime().Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: mtime %v", p, st.ModTime())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(layer, "twice")); string(b) != "second" {
		t.Errorf("twice = %q, want second", b)
	}
	if b, _ := os.ReadFile(filepath.Join(layer, "d", "x")); string(b) != "1" {
		t.Errorf("d/x = %q, want 1", b)
	}
	if l, _ := os.Readlink(filepath.Join(layer, "link")); l != "exe" {
		t.Errorf("link -> %q", l)
	}
}

func TestExtractWhiteouts(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	_, layer := sandbox(t)
	tarball := makeTar(t,
		dir("etc/"),
		reg("etc/.wh.passwd", ""),
		dir("var/cache/"),
		reg("var/cache/.wh..wh..opq", ""),
		reg("var/cache/new", "n"),
		reg(".wh.gone", ""),
		reg(".wh..wh.plnk", ""),
		entry{name: "caps", typ: tar.TypeReg, body: "x", xattrs: map[string]string{
			"user.note":                "hi",
			"trusted.overlay.redirect": "/etc", // must never come from an image
		}},
		entry{name: "dev/sda", typ: tar.TypeBlock},
	)
	if err := extractLayer(t.Context(), layer, bytes.NewReader(tarball)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/passwd", "gone"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(layer, p), &st); err != nil {
			t.Fatalf("whiteout %s: %v", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("whiteout %s: mode %o rdev %d, want a 0:0 char device", p, st.Mode, st.Rdev)
		}
	}
	for _, p := range []string{"etc/.wh.passwd", ".wh.gone", ".wh..wh.plnk", "var/cache/.wh..wh..opq", "dev/sda"} {
		if _, err := os.Lstat(filepath.Join(layer, p)); !os.IsNotExist(err) {
			t.Errorf("%s should not exist: %v", p, err)
		}
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(layer, "var/cache"), opaqueXattr, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque xattr: %q, %v", buf[:n], err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(layer, "caps"), "user.note", buf); err == nil && string(buf[:n]) != "hi" {
		t.Errorf("user.note = %q", buf[:n])
	}
	if _, err := unix.Lgetxattr(filepath.Join(layer, "caps"), "trusted.overlay.redirect", buf); err == nil {
		t.Error("trusted.overlay.redirect was copied from the tar")
	}
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "a/b", want: "a/b"},
		{in: "./a/./b/", want: "a/b"},
		{in: "/etc/passwd", want: "etc/passwd"},
		{in: "/../../etc", want: "etc"},
		{in: "/", want: "."},
		{in: "./", want: "."},
		{in: "..", bad: true},
		{in: "../x", bad: true},
		{in: "a/../../x", bad: true},
		{in: "a/../x", want: "x"},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if tt.bad {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("cleanName(%q): want invalid argument, got %q, %v", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestExtractedLayersMountAsOverlay proves the whiteout conversion on the
// real kernel: overlayfs hides what the upper layer deleted.
func TestExtractedLayersMountAsOverlay(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	base := t.TempDir()
	bottom, top, mnt := filepath.Join(base, "l0"), filepath.Join(base, "l1"), filepath.Join(base, "m")
	layers := map[string][]entry{
		bottom: {dir("etc/"), reg("etc/passwd", "root"), reg("etc/hosts", "h"), reg("var/cache/old", "o")},
		top:    {reg("etc/.wh.passwd", ""), dir("var/cache/"), reg("var/cache/.wh..wh..opq", ""), reg("var/cache/new", "n")},
	}
	for d, entries := range layers {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := extractLayer(t.Context(), d, bytes.NewReader(makeTar(t, entries...))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+top+":"+bottom); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	for p, want := range map[string]bool{"etc/passwd": false, "etc/hosts": true, "var/cache/old": false, "var/cache/new": true} {
		_, err := os.Lstat(filepath.Join(mnt, p))
		if got := err == nil; got != want {
			t.Errorf("%s visible = %v, want %v (%v)", p, got, want, err)
		}
	}
}
