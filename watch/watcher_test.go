package watch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newWatcher(t *testing.T, roots []string, skip func(string) bool) *Watcher {
	t.Helper()
	w, err := New(roots, skip)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// seen collects the watcher's events until every wanted path came, and
// returns all it saw by then.
func seen(t *testing.T, w *Watcher, want ...string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for {
		missing := false
		for _, p := range want {
			missing = missing || !got[p]
		}
		if !missing {
			return got
		}
		select {
		case p := <-w.Events():
			got[p] = true
		case err := <-w.Errors():
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("events %v, still waiting for some of %v", got, want)
		}
	}
}

// drain returns what the watcher reports until a marker file shows up:
// what was not reported before it, never will be.
func drain(t *testing.T, w *Watcher, marker string) map[string]bool {
	t.Helper()
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return seen(t, w, marker)
}

func TestWatcherFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "old.txt"), []byte("x"), 0o644)
	w := newWatcher(t, []string{dir}, nil)

	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.txt"), []byte("b"), 0o644)
	os.Remove(filepath.Join(dir, "sub", "old.txt"))
	os.Chmod(filepath.Join(dir, "a.txt"), 0o600)
	seen(t, w, filepath.Join(dir, "a.txt"), filepath.Join(dir, "sub", "b.txt"), filepath.Join(dir, "sub", "old.txt"))
}

// A directory tree made at once (mkdir -p, or moved in) is followed, and
// what was written into it before its watch existed is reported.
func TestWatcherNewTrees(t *testing.T) {
	dir := t.TempDir()
	w := newWatcher(t, []string{dir}, nil)
	deep := filepath.Join(dir, "a", "b", "c")
	os.MkdirAll(deep, 0o755)
	os.WriteFile(filepath.Join(deep, "f.txt"), []byte("f"), 0o644)
	seen(t, w, filepath.Join(deep, "f.txt"))
	// The new directories are watched now.
	os.WriteFile(filepath.Join(deep, "g.txt"), []byte("g"), 0o644)
	seen(t, w, filepath.Join(deep, "g.txt"))

	// A tree moved in from elsewhere, files and all.
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(outside, "tree", "x"), 0o755)
	os.WriteFile(filepath.Join(outside, "tree", "x", "1.txt"), nil, 0o644)
	if err := os.Rename(filepath.Join(outside, "tree"), filepath.Join(dir, "tree")); err != nil {
		t.Fatal(err)
	}
	seen(t, w, filepath.Join(dir, "tree"), filepath.Join(dir, "tree", "x", "1.txt"))
	os.WriteFile(filepath.Join(dir, "tree", "x", "2.txt"), nil, 0o644)
	seen(t, w, filepath.Join(dir, "tree", "x", "2.txt"))
}

// Symlinks are reported as themselves; a link to a directory outside is
// never followed.
func TestWatcherSymlinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	w := newWatcher(t, []string{dir}, nil)
	link := filepath.Join(dir, "out")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	seen(t, w, link)
	os.WriteFile(filepath.Join(outside, "secret"), nil, 0o644)
	got := drain(t, w, filepath.Join(dir, "marker"))
	for p := range got {
		if strings.HasPrefix(p, outside) || strings.HasPrefix(p, link+"/") {
			t.Fatalf("followed a symlink out: %s", p)
		}
	}
}

// A file root reports its own changes, not its siblings'.
func TestWatcherFileRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "package.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	w := newWatcher(t, []string{file, filepath.Join(dir, "sub")}, nil)
	os.WriteFile(filepath.Join(dir, "other.json"), nil, 0o644)
	os.WriteFile(file, []byte(`{"a":1}`), 0o644)
	got := seen(t, w, file)
	if got[filepath.Join(dir, "other.json")] {
		t.Fatal("a sibling of a file root was reported")
	}
}

// A root that does not exist yet is followed once it appears.
func TestWatcherRootAppears(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "later", "src")
	w := newWatcher(t, []string{root}, nil)
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "a.txt"), nil, 0o644)
	seen(t, w, filepath.Join(root, "a.txt"))
}

// Skipped directories get no watch: nothing under them is reported.
func TestWatcherSkip(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "node_modules", "x"), 0o755)
	w := newWatcher(t, []string{dir}, func(d string) bool { return filepath.Base(d) == "node_modules" })
	os.WriteFile(filepath.Join(dir, "node_modules", "x", "a.js"), nil, 0o644)
	if got := drain(t, w, filepath.Join(dir, "marker")); got[filepath.Join(dir, "node_modules", "x", "a.js")] {
		t.Fatal("a change under a skipped directory was reported")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for d := range w.dirs {
		if strings.Contains(d, "node_modules") {
			t.Fatalf("watching %s", d)
		}
	}
}
