package build

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// buildContext is the local directory COPY and ADD read from, less what
// .dockerignore excludes. Nothing outside dir is ever read.
type buildContext struct {
	dir    string // absolute, symlinks resolved
	ignore *patternmatcher.PatternMatcher
	hashes map[string]string // host path -> content digest, per build

	// Digests remembered across builds (see knownFile).
	known, seen map[string]knownFile
	digestFile  string
	dirty       bool
}

// newContext opens dir with its ignore file: <Dockerfile>.dockerignore
// beside the Dockerfile wins over .dockerignore at the context's root.
func newContext(dir, dockerfilePath string) (*buildContext, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, errdefs.ErrNotFound)
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory: %w", dir, errdefs.ErrInvalidArgument)
	}
	c := &buildContext{dir: abs, hashes: map[string]string{}, known: map[string]knownFile{}, seen: map[string]knownFile{}}
	var patterns []string
	ignoreFiles := []string{filepath.Join(abs, ".dockerignore")}
	if dockerfilePath != "" {
		ignoreFiles = append([]string{dockerfilePath + ".dockerignore"}, ignoreFiles...)
	}
	for _, f := range ignoreFiles {
		p, err := readIgnoreFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patterns = p
		break
	}
	if len(patterns) > 0 {
		if c.ignore, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf(".dockerignore: %v: %w", err, errdefs.ErrInvalidArgument)
		}
	}
	return c, nil
}

// readIgnoreFile reads .dockerignore patterns: comments and blank lines
// dropped, paths cleaned, a leading "/" ignored (as Docker reads them).
func readIgnoreFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		if neg {
			line = strings.TrimSpace(line[1:])
		}
		line = filepath.ToSlash(filepath.Clean(line))
		line = strings.TrimPrefix(line, "/")
		if line == "" {
			line = "."
		}
		if neg {
			line = "!" + line
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ignored reports whether rel (slash-separated, relative to the context)
// is excluded.
func (c *buildContext) ignored(rel string) bool {
	if c.ignore == nil || rel == "." {
		return false
	}
	m, err := c.ignore.MatchesOrParentMatches(rel)
	return err == nil && m
}

// source is one matched COPY/ADD source in the context.
type source struct {
	rel  string // slash-separated, relative to the context ("." for the root)
	abs  string // the host path (symlinks of the source itself resolved inside the context)
	info fs.FileInfo
	// remote: fetched by ADD from a URL (into a temporary file).
	remote bool
	// exclude: COPY/ADD --exclude, matched against paths inside the source.
	exclude *patternmatcher.PatternMatcher
}

// match resolves a COPY/ADD source (a path or glob relative to the context)
// to the context entries it names, never leaving the context.
func (c *buildContext) match(pattern string) ([]source, error) {
	clean := path.Clean("/" + filepath.ToSlash(pattern))
	rel := strings.TrimPrefix(clean, "/")
	if rel == "" {
		rel = "."
	}
	var rels []string
	if hasGlob(rel) {
		err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(c.dir, p)
			r = filepath.ToSlash(r)
			if r == "." {
				return nil
			}
			if ok, _ := path.Match(rel, r); ok && !c.ignored(r) {
				rels = append(rels, r)
			}
			// Only descend as deep as the pattern goes.
			if d.IsDir() && strings.Count(r, "/") >= strings.Count(rel, "/") {
				return filepath.SkipDir
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(rels)
	} else if !c.ignored(rel) {
		rels = []string{rel}
	}
	var out []source
	for _, r := range rels {
		abs, err := c.resolve(r)
		if errors.Is(err, fs.ErrNotExist) {
			if hasGlob(rel) {
				continue
			}
			break
		}
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && !hasGlob(rel) {
				break
			}
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		out = append(out, source{rel: r, abs: abs, info: fi})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q not found in the build context or excluded by .dockerignore: %w", pattern, errdefs.ErrNotFound)
	}
	return out, nil
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// resolve turns a context path into a host path, following symlinks only
// while they stay inside the context: one that leads out is an error.
func (c *buildContext) resolve(rel string) (string, error) {
	p := filepath.Join(c.dir, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil // reported by the caller's stat
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", rel, err)
	}
	if real != c.dir && !strings.HasPrefix(real, c.dir+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: a symlink leads outside the build context (to %s): %w", rel, real, errdefs.ErrInvalidArgument)
	}
	// What .dockerignore leaves out is not in the context at all, as with
	// BuildKit: a symlink to it leads nowhere.
	if target, _ := filepath.Rel(c.dir, real); target != "." && c.ignored(filepath.ToSlash(target)) {
		return "", fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	return real, nil
}

// walk calls fn for src and, for a directory, every entry under it that is
// not ignored, parents before children, in lexical order. Symlinks under a
// directory are reported as links (never followed).
func (c *buildContext) walk(src source, fn func(rel string, hostPath string, fi fs.FileInfo) error) error {
	if !src.info.IsDir() {
		return fn(".", src.abs, src.info)
	}
	return filepath.WalkDir(src.abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(src.abs, p)
		r = filepath.ToSlash(r)
		ctxRel := path.Join(src.rel, r)
		if r != "." && src.exclude != nil {
			if m, _ := src.exclude.MatchesOrParentMatches(r); m {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if r != "." && c.ignored(ctxRel) {
			if d.IsDir() && !c.mayReinclude(ctxRel) {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if r == "." {
			fi = src.info
		}
		return fn(r, p, fi)
	})
}

// mayReinclude reports whether an exclusion pattern ("!...") could bring
// back something under the ignored directory rel.
func (c *buildContext) mayReinclude(rel string) bool {
	for _, p := range c.ignore.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String(), rel+"/") || p.Exclusion() && strings.ContainsAny(p.String(), "*?[") {
			return true
		}
	}
	return false
}

// digest is the cache input of the sources: every file's path, type, mode,
// size and content (or link target), after .dockerignore.
func (c *buildContext) digest(srcs []source) (string, error) {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "src %s\n", s.rel)
		err := c.walk(s, func(rel, p string, fi fs.FileInfo) error {
			fmt.Fprintf(h, "%s %o %d", rel, fi.Mode(), fi.Size())
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				t, err := os.Readlink(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, " -> %s", t)
			case fi.Mode().IsRegular():
				d, err := c.fileDigest(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, " %s", d)
			}
			h.Write([]byte{'\n'})
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (c *buildContext) fileDigest(p string) (string, error) {
	if d, ok := c.hashes[p]; ok {
		return d, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", err
	}
	key := statKey(&st)
	if e, ok := c.known[p]; ok && e.Stat == key {
		c.hashes[p] = e.Digest
		c.seen[p] = e
		return e.Digest, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	d := hex.EncodeToString(h.Sum(nil))
	c.hashes[p] = d
	// A file changed in the last moments could change again within the
	// clock's granularity without its ctime moving: not remembered (git's
	// "racily clean" rule).
	if time.Since(time.Unix(st.Ctim.Unix())) > 2*time.Second {
		c.seen[p] = knownFile{Stat: key, Digest: d}
		c.dirty = true
	}
	return d, nil
}

// knownFile is a digest remembered across builds with the file's identity
// when it was taken: any write changes the ctime, so a file whose device,
// inode, size, mtime and ctime are all unchanged has the same content.
type knownFile struct {
	Stat   string `json:"s"`
	Digest string `json:"d"`
}

func statKey(st *unix.Stat_t) string {
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}

// loadDigests reads the digests remembered for this context in dir.
func (c *buildContext) loadDigests(dir string) {
	if dir == "" {
		return
	}
	sum := sha256.Sum256([]byte(c.dir))
	c.digestFile = filepath.Join(dir, "context-"+hex.EncodeToString(sum[:8])+".json")
	if b, err := os.ReadFile(c.digestFile); err == nil {
		_ = json.Unmarshal(b, &c.known)
	}
	for k, v := range c.known {
		c.seen[k] = v
	}
}

// saveDigests remembers the digests, atomically.
func (c *buildContext) saveDigests() {
	if c.digestFile == "" || !c.dirty {
		return
	}
	b, err := json.Marshal(c.seen)
	if err != nil {
		return
	}
	_ = os.MkdirAll(filepath.Dir(c.digestFile), 0o700)
	// Volatile: lost digests are computed again.
	_ = store.WriteFileVolatile(c.digestFile, b, 0o600)
}
