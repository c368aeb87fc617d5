// Package layering checks the import rules of DESIGN.md: only cmd/ knows
// cobra, only engine/container knows libcontainer, nothing imports cmd/.
// It also keeps os.WriteFile (neither atomic nor durable) out of library
// code: state goes through internal/store. And the rules that keep
// engine's sub-packages apart: the translation in engine/specgen and the
// description in engine/runspec never depend on the runtime or the engine.
package layering

import (
	"go/ast"
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

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestImportRules(t *testing.T) {
	root := moduleRoot()
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
	// The layering of DESIGN.md: dependencies point one way (cmd -> engine
	// -> leaves), and what builds a container's description or reports on
	// containers never needs the runtime.
	forbidden := []struct {
		importer string // package dir prefix
		imported string // import path (prefix) it must not import
		exact    bool   // only that very package (engine/container, not its supervisor)
		why      string
	}{
		{"project/", module + "/engine", false, "leaves never import the engine"},
		{"graph/", module + "/engine", false, "leaves never import the engine"},
		{"logs/", module + "/engine", false, "leaves never import the engine"},
		{"progress/", module + "/engine", false, "leaves never import the engine"},
		{"networks/", module + "/engine", false, "leaves never import the engine"},
		{"volumes/", module + "/engine", false, "leaves never import the engine"},
		{"watch/", module + "/engine", false, "leaves never import the engine"},
		{"diagram/", module + "/engine", false, "leaves never import the engine"},
		{"boot/", module + "/engine", false, "leaves never import the engine"},
		{"errdefs/", module + "/", false, "errdefs is the bottom"},
		{"internal/", module + "/engine", false, "internal helpers never import the engine"},
		{"engine/runspec/", module + "/engine/container", true, "a container's description needs no runtime"},
		{"engine/record/", module + "/engine/container", true, "records need no runtime"},
		{"engine/specgen/", module + "/engine/container", true, "translation needs no runtime"},
		{"engine/status/", module + "/engine/container", true, "status reports need no runtime"},
		{"engine/status/", module + "/engine", true, "status reports get the runtime through their own interfaces, not the engine"},
		{"engine/container/supervisor/", "github.com/opencontainers/runc", false, "the supervisor stays lean"},
		// Kubernetes lives in the k8s/ module (compose-k8s), never in
		// compose: neither its client nor its API types.
		{"", "k8s.io/", false, "Kubernetes modules are compose-k8s's (k8s/), not compose's"},
		{"", "sigs.k8s.io/", false, "Kubernetes modules are compose-k8s's (k8s/), not compose's"},
		{"", module + "/k8s/", false, "the k8s/ module is compose-k8s, run by compose k8s, never linked into compose"},
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
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || nestedModule(root, path)) {
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
			for _, f := range forbidden {
				hit := strings.HasPrefix(p, f.imported)
				if f.exact {
					hit = p == f.imported
				}
				if strings.HasPrefix(rel, f.importer) && hit && !strings.HasSuffix(rel, "_test.go") {
					t.Errorf("%s imports %s: %s", rel, p, f.why)
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

// nestedModule reports whether dir is the root of another Go module than
// root's (k8s/): its packages are not compose's.
func nestedModule(root, dir string) bool {
	if filepath.Clean(dir) == filepath.Clean(root) {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "go.mod"))
	return err == nil
}

// TestLeanGoMod: compose's go.mod requires no Kubernetes module; they
// are compose-k8s's (k8s/go.mod).
func TestLeanGoMod(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(moduleRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (strings.HasPrefix(f[0], "k8s.io/") || strings.HasPrefix(f[0], "sigs.k8s.io/") || strings.HasPrefix(f[0], "go.etcd.io/")) {
			t.Errorf("go.mod requires %s: Kubernetes modules belong to k8s/go.mod", f[0])
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

// writeFileAllowed are the os.WriteFile calls of library code that do not
// write state, by file and enclosing function, each with its reason. State
// is written with internal/store (atomic: temp file and rename; durable:
// fsync), never with os.WriteFile.
var writeFileAllowed = map[string]string{
	"networks/bridge.go writeSysctl":                      "a /proc/sys knob: the kernel takes the value, nothing to rename",
	"engine/build/steps.go run.layerStep":                 "empty marker in a build step's scratch dir: its existence is the record",
	"engine/build/runmount.go run.secretMount":            "a secret for a RUN's mount, in the step's private dir before the container starts",
	"engine/build/etc.go run.etcMounts":                   "/etc/hosts and resolv.conf for a RUN's mounts, in the step's private dir before it starts",
	"engine/container/runtime.go requestStop":             "empty marker for the live supervisor: its existence is the record, stale after a crash",
	"engine/container/runtime.go Runtime.stop":            "empty marker for the live supervisor: its existence is the record, stale after a crash",
	"engine/container/pause.go Runtime.Pause":             "empty marker that wakes watchers of a live container: its existence is the record",
	"internal/registrytest/push.go Registry.DockerConfig": "test fixture (a Docker config) in the test's temp dir",
	"internal/registrytest/registrytest.go Start":         "test fixture (htpasswd) in the test's temp dir",
	"internal/registrytest/registrytest.go Registry.run":  "test fixture (the registry's config) in the test's temp dir",
}

// TestNoOSWriteFile fails on os.WriteFile (or ioutil.WriteFile) in
// non-test code outside cmd/ that writeFileAllowed does not list, and on
// entries of writeFileAllowed that no longer match a call.
func TestNoOSWriteFile(t *testing.T) {
	root := moduleRoot()
	used := map[string]bool{}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" || rel == "cmd" || nestedModule(root, path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		for _, fn := range writeFileCalls(f) {
			key := rel + " " + fn
			if _, ok := writeFileAllowed[key]; ok {
				used[key] = true
				continue
			}
			t.Errorf("%s: os.WriteFile in %s: write state with internal/store (atomic, durable), or add %q to writeFileAllowed with the reason", rel, fn, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d files: wrong root %s?", checked, root)
	}
	for key := range writeFileAllowed {
		if !used[key] {
			t.Errorf("writeFileAllowed lists %q, which no longer calls os.WriteFile: drop it", key)
		}
	}
}

// writeFileCalls names the functions of f ("Func" or "Type.Method") that
// use os.WriteFile or ioutil.WriteFile, once per use.
func writeFileCalls(f *ast.File) []string {
	pkgs := map[string]bool{} // local names of os and io/ioutil
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p != "os" && p != "io/ioutil" {
			continue
		}
		name := filepath.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		pkgs[name] = true
	}
	if len(pkgs) == 0 {
		return nil
	}
	var out []string
	for _, decl := range f.Decls {
		name := "(package level)"
		if fd, ok := decl.(*ast.FuncDecl); ok {
			name = fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) > 0 {
				name = recvType(fd.Recv.List[0].Type) + "." + name
			}
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "WriteFile" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && pkgs[id.Name] {
				out = append(out, name)
			}
			return true
		})
	}
	return out
}

func recvType(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvType(x.X)
	case *ast.IndexExpr: // generic receiver
		return recvType(x.X)
	case *ast.IndexListExpr:
		return recvType(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
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
