package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// layerStep runs a step that may change the filesystem: from the cache
// when key is known there and its layers are stored, else exec fills the
// overlay upper dir of a fresh step directory, which becomes the layer.
func (r *run) layerStep(ctx context.Context, parent *state, key, text, label string, exec func(ctx context.Context, dir string, n int) error) (*state, error) {
	n := r.b.nextStep()
	fmt.Fprintf(r.opts.Out, "#%d %s %s\n", n, label, text)
	c := &cache{dir: r.b.CacheDir}
	if !r.opts.NoCache {
		if raw, ok := c.get(key); ok {
			st := &state{key: key, args: parent.args, cmdSet: parent.cmdSet}
			if json.Unmarshal(raw, &st.cfg) == nil && r.stored(st.cfg.RootFS.DiffIDs) {
				fmt.Fprintf(r.opts.Out, "#%d CACHED\n", n)
				r.res.Cached++
				return st, nil
			}
		}
	}
	start := time.Now()
	if err := os.MkdirAll(r.b.Dir, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(r.b.Dir, stepPrefix())
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = container.UnmountBuildRootfs(dir)
		_ = r.b.Runtime.Remove(context.WithoutCancel(ctx), dir)
		_ = os.RemoveAll(dir)
	}()
	if err := os.WriteFile(filepath.Join(dir, container.BuildMarker), nil, 0o600); err != nil {
		return nil, err
	}
	if err := exec(ctx, dir, n); err != nil {
		return nil, err
	}
	if err := container.UnmountBuildRootfs(dir); err != nil {
		return nil, err
	}
	st := parent.clone()
	st.key = key
	created := now()
	hist := v1.History{Created: created, CreatedBy: text, Comment: historyComment}
	diffID, empty, err := r.commitLayer(ctx, dir)
	if err != nil {
		return nil, err
	}
	if empty {
		hist.EmptyLayer = true
	} else {
		st.cfg.RootFS.DiffIDs = append(st.cfg.RootFS.DiffIDs, diffID)
	}
	st.cfg.History = append(st.cfg.History, hist)
	st.cfg.Created = created
	raw, err := json.Marshal(st.cfg)
	if err != nil {
		return nil, err
	}
	if err := c.put(key, raw); err != nil {
		return nil, err
	}
	r.res.Built++
	fmt.Fprintf(r.opts.Out, "#%d DONE %.1fs\n", n, time.Since(start).Seconds())
	return st, nil
}

func (r *run) stored(diffIDs []v1.Hash) bool {
	for _, d := range diffIDs {
		if !r.b.Images.HasLayer(d) {
			return false
		}
	}
	return true
}

// commitLayer turns the step's upper dir into a stored layer.
func (r *run) commitLayer(ctx context.Context, dir string) (v1.Hash, bool, error) {
	f, err := os.CreateTemp(dir, "layer-*.tar")
	if err != nil {
		return v1.Hash{}, false, err
	}
	defer os.Remove(f.Name())
	n, err := writeLayer(container.UpperDir(dir), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return v1.Hash{}, false, fmt.Errorf("writing layer: %w", err)
	}
	if n == 0 {
		return v1.Hash{}, true, nil
	}
	diffID, _, err := r.b.Images.AddLayerFile(ctx, f.Name())
	return diffID, false, err
}

// runStep runs a RUN instruction in a container of our runtime.
func (r *run) runStep(ctx context.Context, stage int, parent *state, c *instructions.RunCommand, label string) (*state, error) {
	for _, f := range c.FlagsUsed {
		if f != "mount" && f != "network" {
			return nil, fmt.Errorf("%s: %s: RUN --%s is not supported yet: %w", r.d.name, c.String(), f, errdefs.ErrInvalidArgument)
		}
	}
	mounts, err := r.runMounts(ctx, c, stage, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.d.name, c.String(), err)
	}
	netns := container.HostNetNS
	if instructions.GetNetwork(c) == instructions.NetworkNone {
		netns = "" // a namespace of its own with only lo
	}
	inputs := []string{c.String()}
	for _, m := range mounts {
		inputs = append(inputs, m.input)
	}
	args := commandLine(parent.cfg.Config.Shell, c.ShellDependantCmdLine)
	if len(c.Files) > 0 {
		script, err := heredocScript(c.ShellDependantCmdLine)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", r.d.name, c.String(), err)
		}
		args = append(append([]string(nil), shellOf(parent.cfg.Config.Shell)...), script)
	}
	runEnv := append(append(env(nil), parent.args...), parent.cfg.Config.Env...)
	var dedup env
	for _, kv := range runEnv {
		k, v, _ := strings.Cut(kv, "=")
		dedup = dedup.set(k, v)
	}
	argv, _ := json.Marshal(args)
	key := stepKey(parent.key, "RUN", string(argv), strings.Join(dedup, "\n"), strings.Join(inputs, "\n"))
	text := "RUN " + strings.Join(c.CmdLine, " ")
	if !c.PrependShell {
		text = "RUN " + string(argv)
	}
	return r.layerStep(ctx, parent, key, text, label, func(ctx context.Context, dir string, n int) error {
		ok, err := container.OverlaySupported(r.b.Dir)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("building images needs overlayfs under %s: %w", r.b.Dir, errdefs.ErrFailedPrecondition)
		}
		id := newID()
		spec := container.Spec{
			ID: id, Name: "build-" + id[:12], Dir: dir, Args: args, Env: dedup,
			Cwd: parent.cfg.Config.WorkingDir, User: parent.cfg.Config.User,
			Lower: parent.lower(r.b.Images), NetNS: netns,
			Restart: container.RestartPolicy{Name: container.RestartNo},
		}
		spec.Options.ShmSize = r.opts.ShmSize
		etc, err := r.etcMounts(dir)
		if err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, etc...)
		for _, m := range mounts {
			cm, err := m.make(dir)
			if err != nil {
				return fmt.Errorf("%s: --mount: %w", text, err)
			}
			spec.Mounts = append(spec.Mounts, cm)
		}
		code, msg, err := r.runContainer(ctx, spec, n)
		if err != nil {
			return fmt.Errorf("%s: %w", text, err)
		}
		if err := container.UnmountBuildRootfs(dir); err != nil {
			return err
		}
		for _, m := range mounts {
			if m.created != "" {
				dropCreated(container.UpperDir(dir), spec.Lower, m.created)
			}
		}
		for _, m := range etc {
			dropCreated(container.UpperDir(dir), spec.Lower, m.Destination)
		}
		if code != 0 {
			return &StepError{Step: fmt.Sprintf("#%d %s %s", n, label, text), Command: args, ExitCode: code, Msg: msg}
		}
		return nil
	})
}

// StepError is a RUN that exited non-zero.
type StepError struct {
	Step     string
	Command  []string
	ExitCode int
	Msg      string // why the process could not start, if it did not
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("failed to solve: step %s: process %q did not complete successfully: exit code: %d", e.Step, strings.Join(e.Command, " "), e.ExitCode)
	if e.Msg != "" {
		msg += ": " + e.Msg
	}
	return msg
}

func (e *StepError) Unwrap() error { return errdefs.ErrFailedPrecondition }

// runContainer starts the step container, streams its output as "#N line"
// and returns its exit code (with the reason when it could not start).
func (r *run) runContainer(ctx context.Context, spec container.Spec, n int) (int, string, error) {
	if err := r.b.Runtime.Start(ctx, spec); err != nil {
		var se *container.StartError
		if errors.As(err, &se) && se.ExitCode != 0 {
			return se.ExitCode, se.Msg, nil
		}
		return 0, "", err
	}
	bg := context.WithoutCancel(ctx)
	running := func() bool {
		st, err := container.ReadState(spec.Dir)
		return err == nil && st.Status == container.StatusRunning
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = logs.Read(bg, filepath.Join(spec.Dir, spec.ID+"-json.log"), logs.ReadOptions{Tail: -1, Follow: true, Done: func() bool { return !running() }},
			func(en logs.Entry) error {
				_, err := fmt.Fprintf(r.opts.Out, "#%d %s\n", n, en.Line)
				return err
			})
	}()
	st, err := r.b.Runtime.Wait(ctx, spec.Dir)
	if err != nil {
		_ = r.b.Runtime.Stop(bg, spec.Dir, 0)
		<-done
		return 0, "", err
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return st.ExitCode, "", nil
}

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
	sd       instructions.SourcesAndDest
}

// copyStep runs COPY or ADD: sources from the context, an earlier stage or
// an image, written into an overlay of the parent.
func (r *run) copyStep(ctx context.Context, stage int, parent *state, cp copySpec, label string) (*state, error) {
	fail := func(err error) error { return fmt.Errorf("%s: %s: %w", r.d.name, cp.text, err) }
	if cp.parents {
		return nil, fail(fmt.Errorf("--parents is not supported yet: %w", errdefs.ErrInvalidArgument))
	}
	if cp.checksum != "" && (len(cp.sd.SourcePaths) != 1 || cp.from != "") {
		return nil, fail(fmt.Errorf("--checksum needs exactly one source: %w", errdefs.ErrInvalidArgument))
	}
	for _, s := range cp.sd.SourcePaths {
		if isURL(s) && (!cp.add || cp.from != "") {
			return nil, fail(fmt.Errorf("source %s: only ADD can fetch URLs: %w", s, errdefs.ErrInvalidArgument))
		}
		if cp.add && (strings.HasPrefix(s, "git@") || strings.HasSuffix(s, ".git")) {
			return nil, fail(fmt.Errorf("ADD of a git repository is not supported yet: %w", errdefs.ErrInvalidArgument))
		}
	}
	dest := cp.sd.DestPath
	if !path.IsAbs(dest) {
		// Relative to WORKDIR; "." and "dir/" stay directories.
		isDir := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
		dest = path.Join("/", parent.cfg.Config.WorkingDir, dest)
		if isDir && dest != "/" {
			dest += "/"
		}
	}
	nsrc := len(cp.sd.SourcePaths) + len(cp.sd.SourceContents)

	// Sources and what the cache key takes from them.
	var src sourceSet
	var inputs string
	switch {
	case r.opts.NamedContexts[cp.from] != "" && !strings.HasPrefix(r.opts.NamedContexts[cp.from], dockerImagePrefix):
		named, err := newContext(r.opts.NamedContexts[cp.from], "")
		if err != nil {
			return nil, fail(err)
		}
		all, d, err := r.sources(ctx, named, cp, false)
		if err != nil {
			return nil, fail(err)
		}
		if len(all) > 1 {
			nsrc = len(all) + len(cp.sd.SourceContents)
		}
		src = sourceSet{ctx: named, srcs: all}
		inputs = "named context " + cp.from + " " + d
	case cp.from != "":
		if ref, ok := strings.CutPrefix(r.opts.NamedContexts[cp.from], dockerImagePrefix); ok {
			cp.from = ref
		}
		if j, ok := r.d.stageIndex(cp.from, len(r.d.stages)); ok && j >= stage && (r.d.stages[j].Name != "" || isNumber(cp.from)) {
			return nil, fail(fmt.Errorf("--from=%s refers to the current or a later stage: %w", cp.from, errdefs.ErrInvalidArgument))
		}
		if j, ok := r.d.stageIndex(cp.from, stage); ok {
			from, err := r.stageState(ctx, j)
			if err != nil {
				return nil, err
			}
			src = sourceSet{lower: from.lower(r.b.Images)}
			inputs = "stage " + from.key
		} else {
			raw, id, err := r.baseImage(ctx, cp.from)
			if err != nil {
				return nil, fail(err)
			}
			var cfg v1.ConfigFile
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, fail(err)
			}
			st := &state{cfg: cfg}
			src = sourceSet{lower: st.lower(r.b.Images)}
			inputs = "image " + id
		}
	default:
		all, d, err := r.sources(ctx, r.ctx, cp, cp.add)
		if err != nil {
			return nil, fail(err)
		}
		if cp.checksum != "" {
			if err := r.verifyChecksum(all, cp.checksum); err != nil {
				return nil, fail(err)
			}
		}
		if len(all) > 1 {
			nsrc = len(all) + len(cp.sd.SourceContents)
		}
		src = sourceSet{ctx: r.ctx, srcs: all}
		inputs = "context " + d
	}
	for _, sc := range cp.sd.SourceContents {
		inputs += "\nheredoc " + sc.Path + "\n" + sc.Data
	}
	if nsrc > 1 && !strings.HasSuffix(dest, "/") {
		return nil, fail(fmt.Errorf("when using COPY with more than one source file, the destination must be a directory and end with a /: %w", errdefs.ErrInvalidArgument))
	}
	key := stepKey(parent.key, cp.text, parent.cfg.Config.WorkingDir, inputs)
	return r.layerStep(ctx, parent, key, cp.text, label, func(ctx context.Context, dir string, n int) error {
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
		for _, sc := range cp.sd.SourceContents {
			target := dest
			if strings.HasSuffix(dest, "/") || w.isDir(dest) {
				target = path.Join(dest, path.Base(sc.Path))
			}
			if err := w.putData(target, []byte(sc.Data), 0o644); err != nil {
				return fail(err)
			}
		}
		return nil
	})
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

// heredocScript is what the shell runs for a RUN with heredocs: the
// heredoc itself when the line is only "<<EOF", else the line with its
// heredocs written back for the shell to read.
func heredocScript(c instructions.ShellDependantCmdLine) (string, error) {
	if !c.PrependShell {
		return "", fmt.Errorf("heredocs need the shell form of RUN: %w", errdefs.ErrInvalidArgument)
	}
	line := strings.TrimSpace(strings.Join(c.CmdLine, " "))
	if len(c.Files) == 1 && !strings.ContainsAny(strings.TrimLeft(line, "<-"), " \t") {
		return c.Files[0].Data, nil
	}
	var b strings.Builder
	b.WriteString(line)
	for _, f := range c.Files {
		b.WriteString("\n" + f.Data)
		if !strings.HasSuffix(f.Data, "\n") {
			b.WriteString("\n")
		}
		b.WriteString(f.Name)
	}
	return b.String(), nil
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
