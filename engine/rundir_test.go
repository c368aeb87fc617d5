package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/composer-dev/compose/internal/store"
)

// TestPruneRunDir: the runtime dir goes once no process holds it and the
// root has no container and no network: its lock files and empty dirs,
// not what it does not know.
func TestPruneRunDir(t *testing.T) {
	setup := func(t *testing.T) (root, runDir string) {
		root = t.TempDir()
		runDir = filepath.Join(t.TempDir(), "run")
		for _, d := range []string{"netns", "attach", "runc", "ports"} {
			if err := os.MkdirAll(filepath.Join(runDir, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"dns.lock", "dns.pid"} {
			if err := os.WriteFile(filepath.Join(runDir, f), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return root, runDir
	}
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }

	t.Run("unused", func(t *testing.T) {
		root, runDir := setup(t)
		if err := pruneRunDir(root, runDir); err != nil {
			t.Fatal(err)
		}
		if exists(runDir) {
			t.Fatal("runtime dir left")
		}
		if err := pruneRunDir(root, runDir); err != nil { // gone already
			t.Fatal(err)
		}
	})
	t.Run("held", func(t *testing.T) {
		root, runDir := setup(t)
		hold, err := store.ShareDir(t.Context(), runDir)
		if err != nil {
			t.Fatal(err)
		}
		if err := pruneRunDir(root, runDir); err != nil || !exists(filepath.Join(runDir, "dns.lock")) {
			t.Fatalf("pruned while another process holds it (%v)", err)
		}
		hold.Unlock()
		if err := pruneRunDir(root, runDir); err != nil || exists(runDir) {
			t.Fatalf("not pruned once released (%v)", err)
		}
	})
	for _, used := range []string{"containers/0123abcd", "networks/p_default.json"} {
		t.Run(used, func(t *testing.T) {
			root, runDir := setup(t)
			path := filepath.Join(root, used)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(`{"name":"p_default"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := pruneRunDir(root, runDir); err != nil || !exists(filepath.Join(runDir, "netns")) {
				t.Fatalf("pruned while %s exists (%v)", used, err)
			}
		})
	}
	t.Run("unknown file", func(t *testing.T) {
		root, runDir := setup(t)
		left := filepath.Join(runDir, "netns", "0123abcd")
		if err := os.WriteFile(left, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := pruneRunDir(root, runDir); err != nil {
			t.Fatal(err)
		}
		if !exists(left) || exists(filepath.Join(runDir, "dns.lock")) || exists(filepath.Join(runDir, "runc")) {
			t.Fatal("want the unknown file (and its dir) kept, the skeleton gone")
		}
	})
}
