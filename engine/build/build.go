// Package build builds images from Dockerfiles on the embedded engine: no
// BuildKit daemon and no Docker. The Dockerfile is parsed with BuildKit's
// parser and instruction packages; each RUN runs in a container of our own
// runtime over an overlay of the layers so far, COPY and ADD write into
// such an overlay, and the overlay's upper dir becomes the step's layer in
// the image store. Steps are cached by their parent, instruction and inputs.
package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// Options describe one image to build (a service's `build:` section plus
// the command's flags).
type Options struct {
	Context          string // the build context directory
	Dockerfile       string // relative to Context unless absolute; "" = Dockerfile
	DockerfileInline string // the Dockerfile's content, instead of a file
	Args             map[string]string
	Target           string
	Labels           map[string]string
	Tags             []string // references the result is tagged with
	NoCache          bool
	// NoCacheFilter names the stages built without the cache
	// (no_cache_filter, BuildKit's --no-cache-filter).
	NoCacheFilter []string
	// Ulimits are the resource limits of RUN steps (build.ulimits).
	Ulimits []runspec.Ulimit
	Pull    bool              // pull every base image even when stored
	Name    string            // shown in step lines: "[web 2/5]"
	Secrets map[string][]byte // by id, for RUN --mount=type=secret
	// NamedContexts are additional contexts by name: a directory, or
	// "docker-image://REF", usable as FROM name and COPY --from=name.
	NamedContexts map[string]string
	ExtraHosts    map[string][]string // host -> addresses, in RUN's /etc/hosts
	ShmSize       int64               // bytes of RUN's /dev/shm; 0 = 64 MiB
	Network       string              // RUN's default network: "" or "host" (the host's), "none"
	Privileged    bool                // RUN with all capabilities and devices
	Out           io.Writer
}

// Builder builds images into one image store.
type Builder struct {
	Images   *image.Store
	Runtime  *container.Runtime
	Dir      string // work directory: step containers and layer tars
	CacheDir string // the step cache; "" = no cache
	// Pull fetches an image into the store (a base image that is missing,
	// or every base image with Options.Pull).
	Pull func(ctx context.Context, ref string) error

	mu   sync.Mutex
	step int // the "#N" of step lines, across the builds of one command
}

// Result is a built image.
type Result struct {
	ID     string
	Cached int // steps taken from the cache
	Built  int // steps executed
}

// Build builds the image opts describe, tags it and returns its ID. When a
// step fails nothing is tagged and the step's container is gone.
func (b *Builder) Build(ctx context.Context, opts Options) (*Result, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if isRemoteContext(opts.Context) {
		return nil, fmt.Errorf("build context %q: git and URL contexts are not supported: use a local directory: %w", opts.Context, errdefs.ErrInvalidArgument)
	}
	dfName, content, dfPath, err := readDockerfile(opts)
	if err != nil {
		return nil, err
	}
	d, err := parseDockerfile(dfName, content)
	if err != nil {
		return nil, err
	}
	if syntax, _, _, ok := parser.DetectSyntax(content); ok {
		// A frontend image cannot run here: the Dockerfile is built by
		// this builder's own implementation of the syntax.
		fmt.Fprintf(opts.Out, "#0 note: %s: # syntax=%s ignored: built with the embedded Dockerfile builder\n", dfName, syntax)
	}
	bctx, err := newContext(opts.Context, dfPath)
	if err != nil {
		return nil, err
	}
	bctx.loadDigests(b.CacheDir)
	defer bctx.saveDigests()
	global, err := d.globalArgs(opts.Args)
	if err != nil {
		return nil, err
	}
	target, err := d.target(opts.Target)
	if err != nil {
		return nil, err
	}
	stages, err := d.needed(target, global)
	if err != nil {
		return nil, err
	}
	b.sweep(ctx)
	r := &run{b: b, opts: opts, d: d, ctx: bctx, global: global, states: map[int]*state{}, res: &Result{}}
	defer func() {
		for _, t := range r.temps {
			os.Remove(t)
		}
	}()
	for _, i := range stages {
		if err := r.stage(ctx, i); err != nil {
			return nil, err
		}
	}
	final := withLabels(r.states[target].cfg, opts.Labels)
	id, err := b.export(ctx, final, opts)
	if err != nil {
		return nil, err
	}
	r.res.ID = id
	return r.res, nil
}

// withLabels adds the build's labels (a service's build.labels) to the
// final stage's config.
func withLabels(final v1.ConfigFile, labels map[string]string) v1.ConfigFile {
	if len(labels) > 0 {
		if final.Config.Labels == nil {
			final.Config.Labels = map[string]string{}
		}
		for k, v := range labels {
			final.Config.Labels[k] = v
		}
	}
	return final
}

// export stores the built image, tags it and prints BuildKit's export
// lines; it returns the image's ID.
func (b *Builder) export(ctx context.Context, final v1.ConfigFile, opts Options) (string, error) {
	raw, err := json.Marshal(final)
	if err != nil {
		return "", err
	}
	img, err := b.Images.ImageFromConfig(raw)
	if err != nil {
		return "", err
	}
	n := b.nextStep()
	fmt.Fprintf(opts.Out, "#%d exporting to image\n", n)
	id, err := b.Images.Add(ctx, img, opts.Tags...)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(opts.Out, "#%d writing image %s done\n", n, id)
	for _, t := range opts.Tags {
		if full, err := image.Normalize(t); err == nil {
			fmt.Fprintf(opts.Out, "#%d naming to %s done\n", n, full)
		}
	}
	return id, nil
}

func (b *Builder) nextStep() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.step++
	return b.step
}

func isRemoteContext(c string) bool {
	for _, p := range []string{"git@", "git://", "http://", "https://", "github.com/"} {
		if strings.HasPrefix(c, p) {
			return true
		}
	}
	return strings.HasSuffix(c, ".git") || strings.Contains(c, ".git#")
}

// readDockerfile returns the Dockerfile's display name, content and path
// ("" when inline).
func readDockerfile(opts Options) (string, []byte, string, error) {
	if opts.DockerfileInline != "" {
		return "dockerfile_inline", []byte(opts.DockerfileInline), "", nil
	}
	name := opts.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(opts.Context, name)
	}
	content, err := os.ReadFile(p)
	if err != nil {
		return "", nil, "", fmt.Errorf("failed to read dockerfile: open %s: %w", p, errdefs.ErrNotFound)
	}
	return name, content, p, nil
}

// state is an image being built: its config (with the diff IDs of its
// layers) and the cache key of the step that made it.
type state struct {
	cfg  v1.ConfigFile
	key  string
	args env // ARGs declared in the stage, with values (not in the image)
	// cmdSet: the stage set CMD itself (ENTRYPOINT then keeps it).
	cmdSet bool
	// onbuild: the base image's ONBUILD triggers, still to run.
	onbuild []string
	// uncached: the stage is in no_cache_filter; its steps skip the cache.
	uncached bool
}

// lower lists the state's layer directories, bottom first.
func (s *state) lower(st *image.Store) []string {
	out := make([]string, 0, len(s.cfg.RootFS.DiffIDs))
	for _, d := range s.cfg.RootFS.DiffIDs {
		out = append(out, st.LayerDir(d))
	}
	return out
}

// clone deep-copies the state so a step never edits its parent.
func (s *state) clone() *state {
	raw, _ := json.Marshal(s.cfg)
	n := &state{key: s.key, args: append(env(nil), s.args...), cmdSet: s.cmdSet, uncached: s.uncached}
	_ = json.Unmarshal(raw, &n.cfg)
	return n
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func now() v1.Time { return v1.Time{Time: time.Now().UTC().Truncate(time.Second)} }

func normalizeRef(ref string) (string, error) { return image.Normalize(ref) }

// Step directories carry the building process's pid, so a later build can
// tell what a killed build left (a container, mounts) from work under way.
func stepPrefix() string { return "step-" + strconv.Itoa(os.Getpid()) + "-" }

// sweep removes the step directories of builds whose process is gone.
func (b *Builder) sweep(ctx context.Context) {
	ents, err := os.ReadDir(b.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "step-")
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 1 || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		dir := filepath.Join(b.Dir, e.Name())
		_ = b.Runtime.Stop(ctx, dir, 0) // a RUN still going: kill it first
		_ = container.UnmountBuildRootfs(dir)
		if b.Runtime.Remove(ctx, dir) == nil {
			_ = os.RemoveAll(dir)
		}
	}
}
