package project

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is the conformance corpus kept in testdata (a copy of
// ../shared/corpus), so every clone runs it.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "corpus", "awesome-compose"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("conformance corpus missing: %v", err)
	}
	return dir
}

func TestCorpus(t *testing.T) {
	// The expected files were made by root: `~` in a bind source became /root.
	t.Setenv("HOME", "/root")
	root := corpusDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), name)
			copyTree(t, filepath.Join(root, name), dir)
			expected, err := os.ReadFile(filepath.Join(dir, "expected.config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			expected = []byte(strings.ReplaceAll(string(expected), "__PROJECT_DIR__", dir))

			p, err := Load(t.Context(), Options{WorkDir: dir, Environ: []string{}})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got, err := Marshal(p, "yaml")
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			// Docker Compose's `config` output, text for text: a diff of the
			// two is empty.
			if string(got) != string(expected) {
				t.Errorf("config differs from Docker Compose:\n%s", lineDiff(string(expected), string(got)))
			}
		})
	}
	if n == 0 {
		t.Fatal("corpus is empty")
	}
}

// copyTree copies src to dst with writable modes (the corpus is read-only,
// and t.TempDir must be able to remove the copy).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lineDiff shows where two texts part: the first differing line with a
// few lines of context on each side, and both line counts.
func lineDiff(want, have string) string {
	w, h := strings.Split(want, "\n"), strings.Split(have, "\n")
	i := 0
	for i < len(w) && i < len(h) && w[i] == h[i] {
		i++
	}
	from := max(i-3, 0)
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d (want %d lines, have %d)\n", i+1, len(w), len(h))
	for j := from; j < min(i+4, len(w)); j++ {
		fmt.Fprintf(&b, "  want %4d: %q\n", j+1, w[j])
	}
	for j := from; j < min(i+4, len(h)); j++ {
		fmt.Fprintf(&b, "  have %4d: %q\n", j+1, h[j])
	}
	return b.String()
}
