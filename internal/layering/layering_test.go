// Package layering checks the import rules of DESIGN.md: only cmd/ knows
// cobra, only engine/container knows libcontainer, nothing imports cmd/;
// and the rules that keep engine's sub-packages apart (the translation in
// engine/specgen and the description in engine/runspec never depend on the
// runtime or the engine).
package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/composer-dev/compose"

func TestImportRules(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	rules := []struct {
		imported string // import path prefix
		allowed  string // package dir prefix (relative to the module root) allowed to import it
	}{
		{"github.com/spf13/cobra", "cmd/"},
		{"github.com/opencontainers/runc", "engine/container"},
		{"github.com/fsnotify/fsnotify", "watch/"}, // one file watcher
		{module + "/cmd", "cmd/"},
	}
	// Packages under dir must not import banned, except what allowed lists.
	// A path ending in "/..." stands for that package and those below it.
	bans := []struct {
		dir     string // package dir (relative to the module root), with its subdirectories
		banned  []string
		allowed []string
	}{
		{"engine/specgen", []string{module + "/engine/..."}, []string{module + "/engine/runspec"}},
		{"engine/runspec", []string{module + "/engine/..."}, []string{module + "/engine/container/supervisor"}},
	}
	bansChecked := make([]int, len(bans))
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasPrefix(d.Name(), "deps") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, r := range rules {
				if strings.HasPrefix(p, r.imported) && !strings.HasPrefix(rel, r.allowed) {
					t.Errorf("%s imports %s; only %s may", rel, p, r.allowed)
				}
			}
			for i, b := range bans {
				if !matches(filepath.ToSlash(filepath.Dir(rel)), b.dir+"/...") {
					continue
				}
				bansChecked[i]++
				if matchesAny(p, b.banned) && !matchesAny(p, b.allowed) {
					t.Errorf("%s imports %s; %s must not import %s (but %s)", rel, p, b.dir, strings.Join(b.banned, ", "), strings.Join(b.allowed, ", "))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d files: wrong root %s?", checked, root)
	}
	for i, b := range bans {
		if bansChecked[i] == 0 {
			t.Errorf("no imports checked in %s: was it moved?", b.dir)
		}
	}
}

// matches reports whether import path p is pattern, or below it when
// pattern ends in "/...".
func matches(p, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

func matchesAny(p string, patterns []string) bool {
	for _, pattern := range patterns {
		if matches(p, pattern) {
			return true
		}
	}
	return false
}
