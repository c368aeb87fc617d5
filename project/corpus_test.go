package project

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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
			var want, have any
			if err := yaml.Unmarshal(expected, &want); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(got, &have); err != nil {
				t.Fatalf("our output is not YAML: %v\n%s", err, got)
			}
			if diffs := yamlDiff("", want, have); len(diffs) > 0 {
				t.Errorf("config differs from Docker Compose:\n%s\n--- ours:\n%s", strings.Join(diffs, "\n"), got)
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

// yamlDiff lists the paths where two parsed YAML documents differ.
func yamlDiff(path string, want, have any) []string {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range h {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			wv, wok := w[k]
			hv, hok := h[k]
			p := path + "." + k
			switch {
			case !hok:
				out = append(out, fmt.Sprintf("%s: missing (want %v)", p, wv))
			case !wok:
				out = append(out, fmt.Sprintf("%s: unexpected %v", p, hv))
			default:
				out = append(out, yamlDiff(p, wv, hv)...)
			}
		}
		return out
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			break
		}
		var out []string
		for i := range w {
			out = append(out, yamlDiff(fmt.Sprintf("%s[%d]", path, i), w[i], h[i])...)
		}
		return out
	}
	if reflect.DeepEqual(want, have) {
		return nil
	}
	return []string{fmt.Sprintf("%s: want %#v, have %#v", path, want, have)}
}
