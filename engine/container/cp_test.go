package container

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

// TestCopyPathSemantics checks docker cp's rules on plain directories
// (no container needed): nesting, "/." contents, renames, errors, and
// symlinks in the destination that must not lead outside of it.
func TestCopyPathSemantics(t *testing.T) {
	tests := []struct {
		name    string
		src     string // relative to the source tree
		dst     string // relative to the destination root ("/" = its top)
		want    []string
		wantErr error
	}{
		{"file to new name", "file", "/new", []string{"new"}, nil},
		{"file into dir", "file", "/existing", []string{"existing/file"}, nil},
		{"file into dir/", "file", "/existing/", []string{"existing/file"}, nil},
		{"dir into existing dir nests", "dir", "/existing", []string{"existing/dir/a", "existing/dir/sub/b"}, nil},
		{"dir/. copies contents", "dir/.", "/existing", []string{"existing/a", "existing/sub/b"}, nil},
		{"dir to new name", "dir", "/fresh", []string{"fresh/a", "fresh/sub/b"}, nil},
		{"dir onto file", "dir", "/afile", nil, errdefs.ErrInvalidArgument},
		{"missing dest dir/", "file", "/nosuch/", nil, errdefs.ErrNotFound},
		{"missing parent", "file", "/nosuch/x", nil, errdefs.ErrNotFound},
		{"absolute symlink stays inside", "file", "/abslink/x", []string{"existing/x"}, nil},
		{"dotdot symlink stays inside", "file", "/uplink/x", []string{"existing/x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			mustWrite(t, filepath.Join(src, "file"), "f")
			mustWrite(t, filepath.Join(src, "dir", "a"), "a")
			mustWrite(t, filepath.Join(src, "dir", "sub", "b"), "b")
			outside := t.TempDir()
			base := t.TempDir()
			if err := os.Mkdir(filepath.Join(base, "existing"), 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(base, "afile"), "x")
			// Both point outside base when followed on the host.
			if err := os.Symlink(filepath.Join(outside), filepath.Join(base, "abslink-host")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/existing", filepath.Join(base, "abslink")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../../../../../../../../../existing", filepath.Join(base, "uplink")); err != nil {
				t.Fatal(err)
			}
			se, err := hostEndpoint(src+"/"+tt.src, false) // not Join: it would drop a trailing "/."
			if err != nil {
				t.Fatal(err)
			}
			err = copyPath(se, endpoint{base: base, path: tt.dst}, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want class %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if _, err := os.Stat(filepath.Join(base, w)); err != nil {
					t.Errorf("missing %s: %v", w, err)
				}
			}
			if ents, _ := os.ReadDir(outside); len(ents) > 0 {
				t.Errorf("wrote outside the destination root: %v", ents)
			}
		})
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
