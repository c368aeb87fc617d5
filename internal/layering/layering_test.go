// Package layering checks the import rules of DESIGN.md: only cmd/ knows
// cobra, only engine/container knows libcontainer, nothing imports cmd/.
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
