package watch

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRuleMatch(t *testing.T) {
	r, err := NewRule(RuleConfig{
		Path: "/src/app", Target: "/app",
		Ignore:  []string{"node_modules/", "*.log"},
		Context: "/src", ContextIgnore: []string{"app/secret.txt", "**/build"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, target string
		ok           bool
	}{
		{"/src/app/main.go", "/app/main.go", true},
		{"/src/app", "/app", true},
		{"/src/app/pkg/a/b.go", "/app/pkg/a/b.go", true},
		{"/src/other/x.go", "", false},              // outside the rule's path
		{"/src/application/x.go", "", false},        // a sibling with the same prefix
		{"/src/app/node_modules/x/y.js", "", false}, // ignore, a whole directory
		{"/src/app/debug.log", "", false},           // ignore pattern
		{"/src/app/secret.txt", "", false},          // the context's .dockerignore
		{"/src/app/x/build/out", "", false},         // .dockerignore with **
		{"/src/app/.git/HEAD", "", false},           // repository internals
		{"/src/app/sub/.git/config", "", false},
		{"/src/app/.main.go.swp", "", false}, // editor files
		{"/src/app/main.go~", "", false},
		{"/src/app/4913", "", false},
		{"/src/app/.#main.go", "", false},
		{"/src/app/main.go___jb_tmp___", "", false},
		{"/src/app/.idea/workspace.xml", "", false},
		{"/src/app/.gitignore", "/app/.gitignore", true},
		{"/src/app/swap.swp", "/app/swap.swp", true}, // not a hidden vim swap file
	} {
		target, ok := r.Match(tc.path)
		if ok != tc.ok || target != tc.target {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tc.path, target, ok, tc.target, tc.ok)
		}
	}
}

func TestRuleInclude(t *testing.T) {
	r, err := NewRule(RuleConfig{Path: "/src", Target: "/app", Include: []string{"*.js", "lib/"}, Ignore: []string{"lib/skip.js"}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"/src/index.js":    true,
		"/src/index.ts":    false,
		"/src/lib/a.ts":    true, // a directory pattern includes what is under it
		"/src/lib/skip.js": false,
	} {
		if _, ok := r.Match(path); ok != want {
			t.Errorf("Match(%q) = %v, want %v", path, ok, want)
		}
	}
}

func TestRuleWithoutTarget(t *testing.T) {
	r, err := NewRule(RuleConfig{Path: "/src/package.json"})
	if err != nil {
		t.Fatal(err)
	}
	if target, ok := r.Match("/src/package.json"); !ok || target != "" {
		t.Fatalf("Match = %q, %v", target, ok)
	}
	if _, ok := r.Match("/src/other.json"); ok {
		t.Fatal("a sibling of a file rule matched")
	}
}

// A .dockerignore of "*" would ignore every change: Docker Compose keeps
// only its exclusions for watch.
func TestRuleStarDockerignore(t *testing.T) {
	r, err := NewRule(RuleConfig{Path: "/src", Target: "/app", Context: "/src", ContextIgnore: []string{"*", "!keep"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Match("/src/any.txt"); !ok {
		t.Fatal("a file was ignored by a .dockerignore of *")
	}
}

func TestSkipDir(t *testing.T) {
	r, err := NewRule(RuleConfig{Path: "/src", Target: "/app", Ignore: []string{"node_modules", "dist/"}})
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{
		"/src/node_modules": true, "/src/dist": true, "/src/.git": true, "/src/a/.git": true,
		"/src/lib": false, "/src": false, "/other": true,
	} {
		if got := r.SkipDir(dir); got != want {
			t.Errorf("SkipDir(%q) = %v, want %v", dir, got, want)
		}
	}
	// An exclusion may bring back a file under an ignored directory: the
	// directory must stay watched.
	r, err = NewRule(RuleConfig{Path: "/src", Target: "/app", Ignore: []string{"dist/", "!dist/keep.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.SkipDir("/src/dist") {
		t.Fatal("skipped a directory an exclusion reaches into")
	}
}

func TestReadDockerignore(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadDockerignore(dir, "Dockerfile"); err != nil || got != nil {
		t.Fatalf("no file: %v, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("# comment\n*.tmp\n\n!keep.tmp\n"), 0o644)
	got, err := ReadDockerignore(dir, "Dockerfile")
	if err != nil || len(got) != 2 || got[0] != "*.tmp" || got[1] != "!keep.tmp" {
		t.Fatalf(".dockerignore: %q, %v", got, err)
	}
	// The Dockerfile's own ignore file wins.
	os.WriteFile(filepath.Join(dir, "Dockerfile.dockerignore"), []byte("other\n"), 0o644)
	got, err = ReadDockerignore(dir, "Dockerfile")
	if err != nil || len(got) != 1 || got[0] != "other" {
		t.Fatalf("Dockerfile.dockerignore: %q, %v", got, err)
	}
}
