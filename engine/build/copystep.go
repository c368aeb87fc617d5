package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
)

// copySpec is a COPY or ADD.
type copySpec struct {
	text     string
	add      bool
	unpack   *bool // ADD --unpack: nil = local archives only
	from     string
	chown    string
	chmod    string
	checksum string
	parents  bool
	excludes []string // --exclude patterns, relative to each source
	sd       instructions.SourcesAndDest
}

// copyStep runs COPY or ADD: sources from the context, an earlier stage or
// an image, written into an overlay of the parent.
func (r *run) copyStep(ctx context.Context, stage int, parent *state, cp copySpec, label string) (*state, error) {
	fail := func(err error) error { return fmt.Errorf("%s: %s: %w", r.d.name, cp.text, err) }
	if err := r.checkCopy(cp); err != nil {
		return nil, fail(err)
	}
	dest := copyDest(cp.sd.DestPath, parent.cfg.Config.WorkingDir)
	src, inputs, err := r.copySources(ctx, stage, cp, fail)
	if err != nil {
		return nil, err
	}
	for _, sc := range cp.sd.SourceContents {
		inputs += "\nheredoc " + sc.Path + "\n" + sc.Data
	}
	nsrc := len(cp.sd.SourcePaths) + len(cp.sd.SourceContents)
	if len(src.srcs) > 1 { // globs count what they match
		nsrc = len(src.srcs) + len(cp.sd.SourceContents)
	}
	if nsrc > 1 && !strings.HasSuffix(dest, "/") {
		return nil, fail(fmt.Errorf("when using COPY with more than one source file, the destination must be a directory and end with a /: %w", errdefs.ErrInvalidArgument))
	}
	key := stepKey(parent.key, cp.text, parent.cfg.Config.WorkingDir, inputs)
	return r.layerStep(ctx, parent, key, cp.text, label, func(ctx context.Context, dir string, n int) error {
		return r.writeCopy(dir, parent, cp, src, dest, fail)
	})
}

// checkCopy refuses the flag combinations not supported yet, before any
// source is looked at.
func (r *run) checkCopy(cp copySpec) error {
	if cp.parents {
		return fmt.Errorf("--parents is not supported yet: %w", errdefs.ErrInvalidArgument)
	}
	if named := r.opts.NamedContexts[cp.from]; len(cp.excludes) > 0 && cp.from != "" && (named == "" || strings.HasPrefix(named, dockerImagePrefix)) {
		return fmt.Errorf("--exclude with --from of a stage or image is not supported yet: %w", errdefs.ErrInvalidArgument)
	}
	if cp.checksum != "" && (len(cp.sd.SourcePaths) != 1 || cp.from != "") {
		return fmt.Errorf("--checksum needs exactly one source: %w", errdefs.ErrInvalidArgument)
	}
	for _, s := range cp.sd.SourcePaths {
		if isURL(s) && (!cp.add || cp.from != "") {
			return fmt.Errorf("source %s: only ADD can fetch URLs: %w", s, errdefs.ErrInvalidArgument)
		}
		if cp.add && (strings.HasPrefix(s, "git@") || strings.HasSuffix(s, ".git")) {
			return fmt.Errorf("ADD of a git repository is not supported yet: %w", errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// copyDest makes a relative destination absolute under WORKDIR; "." and
// "dir/" stay directories (a trailing "/").
func copyDest(dest, workdir string) string {
	if path.IsAbs(dest) {
		return dest
	}
	isDir := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
	dest = path.Join("/", workdir, dest)
	if isDir && dest != "/" {
		dest += "/"
	}
	return dest
}

// copySources finds the sources of a COPY or ADD (a named context, an
// earlier stage, an image or the build context) and what the cache key
// takes from them.
func (r *run) copySources(ctx context.Context, stage int, cp copySpec, fail func(error) error) (sourceSet, string, error) {
	switch {
	case r.opts.NamedContexts[cp.from] != "" && !strings.HasPrefix(r.opts.NamedContexts[cp.from], dockerImagePrefix):
		named, err := newContext(r.opts.NamedContexts[cp.from], "")
		if err != nil {
			return sourceSet{}, "", fail(err)
		}
		all, d, err := r.sources(ctx, named, cp, false)
		if err != nil {
			return sourceSet{}, "", fail(err)
		}
		return sourceSet{ctx: named, srcs: all}, "named context " + cp.from + " " + d, nil
	case cp.from != "":
		from := cp.from
		if ref, ok := strings.CutPrefix(r.opts.NamedContexts[from], dockerImagePrefix); ok {
			from = ref
		}
		return r.copyFromSources(ctx, stage, from, fail)
	default:
		all, d, err := r.sources(ctx, r.ctx, cp, cp.add)
		if err != nil {
			return sourceSet{}, "", fail(err)
		}
		if cp.checksum != "" {
			if err := r.verifyChecksum(all, cp.checksum); err != nil {
				return sourceSet{}, "", fail(err)
			}
		}
		return sourceSet{ctx: r.ctx, srcs: all}, "context " + d, nil
	}
}

// copyFromSources resolves --from: an earlier stage (built first if need
// be) or else an image, whose layers become the sources' root.
func (r *run) copyFromSources(ctx context.Context, stage int, from string, fail func(error) error) (sourceSet, string, error) {
	if j, ok := r.d.stageIndex(from, len(r.d.stages)); ok && j >= stage && (r.d.stages[j].Name != "" || isNumber(from)) {
		return sourceSet{}, "", fail(fmt.Errorf("--from=%s refers to the current or a later stage: %w", from, errdefs.ErrInvalidArgument))
	}
	if j, ok := r.d.stageIndex(from, stage); ok {
		st, err := r.stageState(ctx, j)
		if err != nil {
			return sourceSet{}, "", err // names its own step
		}
		return sourceSet{lower: st.lower(r.b.Images)}, "stage " + st.key, nil
	}
	raw, id, err := r.baseImage(ctx, from)
	if err != nil {
		return sourceSet{}, "", fail(err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return sourceSet{}, "", fail(err)
	}
	st := &state{cfg: cfg}
	return sourceSet{lower: st.lower(r.b.Images)}, "image " + id, nil
}

// writeCopy is the layer step of a COPY or ADD: it writes the sources and
// heredocs into an overlay of the parent mounted in dir.
func (r *run) writeCopy(dir string, parent *state, cp copySpec, src sourceSet, dest string, fail func(error) error) error {
	root, err := container.MountBuildRootfs(dir, parent.lower(r.b.Images))
	if err != nil {
		return err
	}
	owner, err := parseChown(root, cp.chown)
	if err != nil {
		return fail(err)
	}
	mode, err := parseChmod(cp.chmod)
	if err != nil {
		return fail(err)
	}
	if wd := parent.cfg.Config.WorkingDir; wd != "" {
		if err := (&writer{root: root}).mkdirAll(wd); err != nil {
			return fail(err)
		}
	}
	w := &writer{root: root, owner: owner, chmod: mode}
	if src.lower != nil {
		srcDir := filepath.Join(dir, "from")
		if err := os.Mkdir(srcDir, 0o700); err != nil {
			return err
		}
		from, err := container.MountBuildRootfs(srcDir, src.lower)
		if err != nil {
			return err
		}
		defer container.UnmountBuildRootfs(srcDir)
		if err := r.copyFromRoot(w, from, cp, dest); err != nil {
			return fail(err)
		}
	} else {
		if w.owner == nil { // context files belong to root unless --chown
			w.owner = &[2]int{0, 0}
		}
		if err := copyFromContext(w, src.ctx, src.srcs, cp, dest); err != nil {
			return fail(err)
		}
	}
	if err := writeHeredocs(w, cp, dest); err != nil {
		return fail(err)
	}
	return nil
}

// writeHeredocs writes COPY's inline sources (<<EOF) like files of the
// context: into dest when it is a directory, else as dest.
func writeHeredocs(w *writer, cp copySpec, dest string) error {
	for _, sc := range cp.sd.SourceContents {
		target := dest
		if strings.HasSuffix(dest, "/") || w.isDir(dest) {
			target = path.Join(dest, path.Base(sc.Path))
		}
		if err := w.putData(target, []byte(sc.Data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

type sourceSet struct {
	ctx   *buildContext
	srcs  []source
	lower []string // --from: the layers of the stage or image
}

// copyFromContext copies context sources to dest with Docker's rules: a
// directory's contents go into dest; a file goes into dest when dest ends
// in "/" or is a directory, else becomes dest; ADD unpacks local archives.
func copyFromContext(w *writer, bctx *buildContext, srcs []source, cp copySpec, dest string) error {
	destDir := strings.HasSuffix(dest, "/")
	for _, s := range srcs {
		if s.info.IsDir() {
			if err := w.mkdirAll(dest); err != nil {
				return err
			}
			err := bctx.walk(s, func(rel, p string, fi fs.FileInfo) error {
				if rel == "." {
					return nil
				}
				return w.put(path.Join(dest, rel), p, fi)
			})
			if err != nil {
				return err
			}
			continue
		}
		if cp.add && (cp.unpack == nil && !s.remote || cp.unpack != nil && *cp.unpack) { // a URL's archive stays packed unless --unpack, as with Docker
			if ok, err := addArchive(w, s.abs, dest); ok || err != nil {
				if err != nil {
					return err
				}
				continue
			}
		}
		target := dest
		if destDir || w.isDir(dest) {
			target = path.Join(dest, path.Base(s.rel))
		}
		if err := w.put(target, s.abs, s.info); err != nil {
			return err
		}
	}
	return nil
}

// addArchive unpacks a local tar archive into dest; false when the file is
// not an archive.
func addArchive(w *writer, hostPath, dest string) (bool, error) {
	f, err := os.Open(hostPath)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr, err := archiveReader(f)
	if err != nil || tr == nil {
		return false, err
	}
	return true, w.extract(tr, dest)
}

// copyFromRoot copies sources out of another stage's or image's root
// filesystem; paths resolve inside it, and owners are kept unless --chown.
func (r *run) copyFromRoot(w *writer, from string, cp copySpec, dest string) error {
	var matches []string
	for _, p := range cp.sd.SourcePaths {
		p = path.Clean("/" + p)
		if hasGlob(p) {
			dirHost, err := (&writer{root: from}).hostPath(path.Dir(p))
			if err != nil {
				return err
			}
			ents, err := os.ReadDir(dirHost)
			if err != nil {
				return fmt.Errorf("%s: %w", p, errdefs.ErrNotFound)
			}
			for _, e := range ents {
				if ok, _ := path.Match(path.Base(p), e.Name()); ok {
					matches = append(matches, path.Join(path.Dir(p), e.Name()))
				}
			}
			continue
		}
		matches = append(matches, p)
	}
	if len(matches) == 0 {
		return fmt.Errorf("no source files were specified: %w", errdefs.ErrNotFound)
	}
	destDir := strings.HasSuffix(dest, "/") || len(matches) > 1
	for _, m := range matches {
		hp, err := (&writer{root: from}).hostPath(m)
		if err != nil {
			return err
		}
		fi, err := os.Stat(hp)
		if err != nil {
			return fmt.Errorf("%q not found: %w", m, errdefs.ErrNotFound)
		}
		if !fi.IsDir() {
			target := dest
			if destDir || w.isDir(dest) {
				target = path.Join(dest, path.Base(m))
			}
			if err := w.put(target, hp, fi); err != nil {
				return err
			}
			continue
		}
		if err := w.mkdirAll(dest); err != nil {
			return err
		}
		err = filepath.WalkDir(hp, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(hp, p)
			if rel == "." {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return w.put(path.Join(dest, filepath.ToSlash(rel)), p, fi)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// verifyChecksum checks ADD --checksum=sha256:HEX against the one file source.
func (r *run) verifyChecksum(srcs []source, want string) error {
	hexWant, ok := strings.CutPrefix(want, "sha256:")
	if !ok {
		return fmt.Errorf("--checksum=%s: only sha256:HEX is supported: %w", want, errdefs.ErrInvalidArgument)
	}
	if len(srcs) != 1 || !srcs[0].info.Mode().IsRegular() {
		return fmt.Errorf("--checksum needs a single file source: %w", errdefs.ErrInvalidArgument)
	}
	got, err := r.ctx.fileDigest(srcs[0].abs)
	if err != nil {
		return err
	}
	if got != hexWant {
		return fmt.Errorf("digest mismatch for %s: sha256:%s, want %s: %w", srcs[0].rel, got, want, errdefs.ErrInvalidArgument)
	}
	return nil
}

func isNumber(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
