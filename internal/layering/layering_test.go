// Package layering checks the import rules of DESIGN.md: only cmd/ knows
// cobra, only engine/container knows libcontainer, nothing imports cmd/.
package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/composer-dev/compose"

func TestImportRules(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	rules := []struct {
		imported string   // import path prefix
		allowed  []string // package dir prefixes (relative to the module root) allowed to import it
	}{
		{"github.com/spf13/cobra", []string{"cmd/"}},
		{"github.com/opencontainers/runc", []string{"engine/container"}},
		// One inotify library: watch/ for develop.watch's trees,
		// internal/inotify for the engine's own files.
		{"github.com/fsnotify/fsnotify", []string{"watch/", "internal/inotify/"}},
		{module + "/cmd", []string{"cmd/"}},
	}
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
				if strings.HasPrefix(p, r.imported) && !slices.ContainsFunc(r.allowed, func(a string) bool { return strings.HasPrefix(rel, a) }) {
					t.Errorf("%s imports %s; only %s may", rel, p, strings.Join(r.allowed, ", "))
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
}

// TestSupervisorStaysLean: the per-container supervisor runs once per
// container, so what it links is kept small. It writes logs and never
// follows files: the log reader and the inotify watchers stay out of it.
func TestSupervisorStaysLean(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	forbidden := []string{
		module + "/logs", // the reader; logs/jsonfile writes
		module + "/internal/inotify",
		"github.com/fsnotify/fsnotify",
		"github.com/opencontainers/runc",
		"github.com/spf13/cobra",
	}
	// Walk the module's packages the supervisor imports, from their
	// non-test files (build tags ignored: a superset).
	seen := map[string]bool{}
	var visit func(pkg string)
	visit = func(pkg string) {
		if seen[pkg] {
			return
		}
		seen[pkg] = true
		if slices.Contains(forbidden, pkg) {
			t.Errorf("the supervisor imports %s", pkg)
		}
		rel, ok := strings.CutPrefix(pkg, module+"/")
		if !ok {
			return // outside the module: its own imports are not walked
		}
		ents, err := os.ReadDir(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, rel, e.Name()), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				visit(p)
			}
		}
	}
	visit(module + "/cmd/compose-supervisor")
	if !seen[module+"/engine/container/supervisor"] {
		t.Fatal("the walk did not reach engine/container/supervisor")
	}
}
