package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// RuleConfig is one develop.watch entry as the compose file gives it, with
// its paths already absolute.
type RuleConfig struct {
	Path    string   // host file or directory watched
	Target  string   // where Path lands in the container ("" for restart/rebuild)
	Include []string // patterns relative to Path; none = everything
	Ignore  []string // patterns relative to Path
	// Context and ContextIgnore are the build context and its .dockerignore
	// patterns: what the image leaves out, watch leaves out too.
	Context       string
	ContextIgnore []string
}

// Rule decides which host paths a develop.watch entry follows and where
// they go in the container.
type Rule struct {
	Path, Target string
	include      *patterns // nil: everything
	ignore       []*patterns
}

// NewRule compiles a rule's patterns.
func NewRule(c RuleConfig) (*Rule, error) {
	r := &Rule{Path: filepath.Clean(c.Path), Target: c.Target}
	if len(c.Include) > 0 {
		inc, err := newPatterns(r.Path, c.Include)
		if err != nil {
			return nil, fmt.Errorf("include: %w", err)
		}
		r.include = inc
	}
	ign, err := newPatterns(r.Path, c.Ignore)
	if err != nil {
		return nil, fmt.Errorf("ignore: %w", err)
	}
	r.ignore = append(r.ignore, ign)
	if c.Context != "" && len(c.ContextIgnore) > 0 {
		ctx, err := newPatterns(c.Context, c.ContextIgnore)
		if err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
		r.ignore = append(r.ignore, ctx)
	}
	return r, nil
}

// Match reports whether a change at host path concerns the rule and, when
// the rule has a target, the container path it maps to.
func (r *Rule) Match(path string) (target string, ok bool) {
	rel, ok := within(r.Path, path)
	if !ok || Ephemeral(rel) || inGitDir(rel) {
		return "", false
	}
	if r.include != nil && !r.include.matches(path) {
		return "", false
	}
	for _, p := range r.ignore {
		if p.matches(path) {
			return "", false
		}
	}
	if r.Target == "" {
		return "", true
	}
	return filepath.Join(r.Target, rel), true
}

// SkipDir reports whether nothing under dir can match the rule, so it
// needs no inotify watch: a .git directory, or a directory an ignore
// pattern covers with no exclusion that could bring a file back.
func (r *Rule) SkipDir(dir string) bool {
	rel, ok := within(r.Path, dir)
	if !ok {
		return true
	}
	if inGitDir(rel) || Ephemeral(rel) {
		return true
	}
	for _, p := range r.ignore {
		if p.matchesWholeDir(dir) {
			return true
		}
	}
	return false
}

// within returns path relative to root ("." for root itself) when path is
// root or lies under it.
func within(root, path string) (string, bool) {
	if path == root {
		return ".", true
	}
	if root == "/" {
		return strings.TrimPrefix(path, "/"), strings.HasPrefix(path, "/")
	}
	if rest, ok := strings.CutPrefix(path, root+"/"); ok {
		return rest, true
	}
	return "", false
}

// inGitDir reports whether a relative path lies in a .git directory:
// Docker Compose never syncs repository internals.
func inGitDir(rel string) bool {
	return slices.Contains(strings.Split(rel, "/"), ".git")
}

// Ephemeral reports whether path is an editor's temporary, swap or backup
// file (the ones Docker Compose ignores): GoLand's *___jb_old___ and
// *___jb_tmp___ and .idea/, Emacs' .#*, Vim's 4913, *~ and .*.swp/x/o/n.
func Ephemeral(path string) bool {
	if slices.Contains(strings.Split(path, "/"), ".idea") {
		return true
	}
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(base, "___jb_old___"), strings.HasSuffix(base, "___jb_tmp___"),
		strings.HasPrefix(base, ".#"), base == "4913", strings.HasSuffix(base, "~"):
		return true
	case strings.HasPrefix(base, "."):
		switch filepath.Ext(base) {
		case ".swp", ".swx", ".swo", ".swn":
			return true
		}
	}
	return false
}

// patterns are .dockerignore-style patterns anchored at a directory.
type patterns struct {
	pm *patternmatcher.PatternMatcher
}

func newPatterns(base string, list []string) (*patterns, error) {
	// As Docker Compose does: a "*" would ignore every change, so when it
	// is present only the exclusions ("!src") are kept.
	if slices.Contains(list, "*") {
		list = slices.DeleteFunc(slices.Clone(list), func(p string) bool { return p != "" && p[0] != '!' })
	}
	var abs []string
	for _, p := range list {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		excl := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		p = filepath.Clean(p)
		if excl {
			p = "!" + p
		}
		abs = append(abs, p)
	}
	if len(abs) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(abs)
	if err != nil {
		return nil, err
	}
	return &patterns{pm: pm}, nil
}

func (p *patterns) matches(path string) bool {
	if p == nil {
		return false
	}
	ok, err := p.pm.MatchesOrParentMatches(path)
	return err == nil && ok
}

func (p *patterns) matchesWholeDir(dir string) bool {
	return p != nil && !p.pm.Exclusions() && p.matches(dir)
}

// ReadDockerignore reads the patterns that leave files out of a build
// context: <dockerfile>.dockerignore beside the context, else .dockerignore.
// A context without either has none.
func ReadDockerignore(context, dockerfile string) ([]string, error) {
	names := []string{".dockerignore"}
	if dockerfile != "" {
		names = append([]string{dockerfile + ".dockerignore"}, names...)
	}
	for _, n := range names {
		p := n
		if !filepath.IsAbs(p) {
			p = filepath.Join(context, n)
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		list, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return list, nil
	}
	return nil, nil
}
