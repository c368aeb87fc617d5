package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/build"
	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

// BuildOptions are the flags of `compose build`.
type BuildOptions struct {
	Services []string
	NoCache  bool
	Pull     bool
	Quiet    bool
	Args     []string // --build-arg KEY=VALUE (or KEY: from the environment)
	WithDeps bool     // --with-dependencies
	Print    bool     // --print: the plan as JSON, nothing built
	Out      io.Writer
}

// BuildPolicy says what `up` and `run` do with services that have a
// `build:` section.
type BuildPolicy string

const (
	// BuildMissing builds an image that is missing (the default).
	BuildMissing BuildPolicy = ""
	// BuildAlways builds before creating (--build).
	BuildAlways BuildPolicy = "always"
	// BuildNever never builds (--no-build).
	BuildNever BuildPolicy = "never"
)

// DefaultImageName is the image of a service built without `image:`, as
// Docker Compose names it: <project>-<service>, or <project>_<service> in
// compatibility mode (COMPOSE_COMPATIBILITY in the project's environment,
// which --compatibility sets).
func DefaultImageName(p *types.Project, service string) string {
	sep := Separator(projectCompat(p))
	return strings.ToLower(p.Name + sep + service)
}

// projectCompat reports whether the project is loaded in compatibility mode.
func projectCompat(p *types.Project) bool {
	b, _ := strconv.ParseBool(p.Environment["COMPOSE_COMPATIBILITY"])
	return b
}

// serviceImage is the image a service runs: its `image:`, or the default
// name of its build.
func serviceImage(p *types.Project, svc types.ServiceConfig) string {
	if svc.Image == "" && svc.Build != nil {
		return DefaultImageName(p, svc.Name)
	}
	return svc.Image
}

// setBuildImages gives services with only a `build:` their default image name.
func setBuildImages(p *types.Project) {
	for name, svc := range p.Services {
		if svc.Image == "" && svc.Build != nil {
			svc.Image = serviceImage(p, svc)
			p.Services[name] = svc
		}
	}
}

// Build builds the images of the project's services that have a `build:`
// section (the named ones, and with WithDeps what they depend on).
func (e *Engine) Build(ctx context.Context, p *types.Project, opts BuildOptions) error {
	names, err := e.selectServices(p, opts.Services, opts.WithDeps)
	if err != nil {
		return err
	}
	if len(opts.Services) == 0 {
		sort.Strings(names)
	}
	args, err := buildArgFlags(opts.Args)
	if err != nil {
		return err
	}
	var svcs []types.ServiceConfig
	for _, n := range names {
		svc, err := p.GetService(n)
		if err != nil {
			return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", n))
		}
		if svc.Build != nil {
			svcs = append(svcs, svc)
		}
	}
	if opts.Print {
		return printBuildPlan(p, svcs, args, opts)
	}
	e.beginProgress("build")
	defer e.endProgress()
	if e.dryRun {
		return e.dryRunBuild(p, svcs, args)
	}
	// The builder's output goes to stdout, as BuildKit's display does in
	// Docker Compose (build_bake.go: progressui.NewDisplay(s.stdout())).
	out := opts.Out
	if out == nil {
		out = e.out
	}
	if opts.Quiet || e.progressMode == progress.ModeQuiet {
		out = io.Discard
	}
	b := e.builder()
	for _, svc := range buildOrder(svcs) {
		bo, err := buildOptions(p, svc, args)
		if err != nil {
			return err
		}
		e.warn(svc.Name, buildWarnings(svc)...)
		bo.NoCache = bo.NoCache || opts.NoCache
		bo.Pull = bo.Pull || opts.Pull
		bo.Out = out
		if _, err := e.buildImage(ctx, b, serviceImage(p, svc), bo); err != nil {
			return fmt.Errorf("service %q: %w", svc.Name, err)
		}
	}
	return nil
}

// buildImage builds one image between Docker Compose's "Image x Building"
// and "Image x Built" lines.
func (e *Engine) buildImage(ctx context.Context, b *build.Builder, image string, bo build.Options) (*build.Result, error) {
	e.progress("Image", image, "Building")
	res, err := b.Build(ctx, bo)
	if err != nil {
		e.event(progress.Event{ID: "Image " + image, Text: "Error", Status: progress.Error, Details: errdefs.Message(err)})
		return nil, err
	}
	e.progress("Image", image, "Built")
	return res, nil
}

// buildServices builds, for up and run, the services whose image must be
// built; their images land in pl.images.
func (e *Engine) buildServices(ctx context.Context, pl *plan, svcs []types.ServiceConfig) error {
	e.beginProgress(pl.operation())
	defer e.endProgress()
	if e.dryRun { // what it would build; the image stands in unbuilt
		if err := e.dryRunBuild(pl.project, svcs, nil); err != nil {
			return err
		}
		for _, svc := range svcs {
			pl.images[svc.Name] = e.dryRunImage(svc.Image)
		}
		return nil
	}
	b := e.builder()
	for _, svc := range buildOrder(svcs) {
		bo, err := buildOptions(pl.project, svc, nil)
		if err != nil {
			return err
		}
		e.warn(svc.Name, buildWarnings(svc)...)
		bo.Out = e.out
		if e.progressMode == progress.ModeQuiet || pl.quietBuild {
			bo.Out = io.Discard
		}
		res, err := e.buildImage(ctx, b, serviceImage(pl.project, svc), bo)
		if err != nil {
			return fmt.Errorf("service %q: %w", svc.Name, err)
		}
		img, err := e.images.Get(res.ID)
		if err != nil {
			return err
		}
		pl.images[svc.Name] = img
	}
	return nil
}

func (e *Engine) builder() *build.Builder {
	return &build.Builder{
		Images:   e.images,
		Runtime:  e.runtime,
		Dir:      filepath.Join(e.root, "builds"),
		CacheDir: filepath.Join(e.root, "build-cache"),
		Pull: func(ctx context.Context, ref string) error {
			_, err := e.images.Pull(ctx, ref, image.PullOptions{RegistryOptions: e.registryOptions()})
			return err
		},
	}
}

// buildArgFlags parses --build-arg KEY=VALUE; a bare KEY takes its value
// from the environment (and is dropped when unset), as Docker does.
func buildArgFlags(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: use KEY=VALUE: %w", kv, errdefs.ErrInvalidArgument)
		}
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		out[k] = v
	}
	return out, nil
}

// buildOptions turns a service's `build:` section into the builder's options.
func buildOptions(p *types.Project, svc types.ServiceConfig, extraArgs map[string]string) (build.Options, error) {
	bc := svc.Build
	ctxDir := bc.Context
	if ctxDir == "" {
		ctxDir = "."
	}
	if !strings.Contains(ctxDir, "://") && !strings.HasPrefix(ctxDir, "git@") && !filepath.IsAbs(ctxDir) {
		ctxDir = filepath.Join(p.WorkingDir, ctxDir)
	}
	args := map[string]string{}
	for k, v := range bc.Args {
		if v != nil {
			args[k] = *v
		} else if ev, ok := os.LookupEnv(k); ok {
			args[k] = ev
		}
	}
	for k, v := range extraArgs {
		args[k] = v
	}
	tags := []string{serviceImage(p, svc)}
	tags = append(tags, bc.Tags...)
	for _, t := range tags {
		if _, err := image.Normalize(t); err != nil {
			return build.Options{}, fmt.Errorf("service %q: tag %q: %w", svc.Name, t, err)
		}
	}
	for _, unsupported := range []struct {
		set  bool
		name string
	}{
		{len(bc.SSH) > 0, "ssh"},
		{len(bc.Platforms) > 1, "platforms"},
	} {
		if unsupported.set {
			return build.Options{}, fmt.Errorf("service %q: build.%s is not supported yet: %w", svc.Name, unsupported.name, errdefs.ErrInvalidArgument)
		}
	}
	secrets, err := buildSecrets(p, svc)
	if err != nil {
		return build.Options{}, err
	}
	named := map[string]string{}
	for name, v := range bc.AdditionalContexts {
		switch {
		case strings.HasPrefix(v, "docker-image://"):
			named[name] = v
		case strings.HasPrefix(v, "service:"): // the image built for that service (built first)
			other, err := p.GetService(strings.TrimPrefix(v, "service:"))
			if err != nil {
				return build.Options{}, fmt.Errorf("service %q: additional_contexts %s: no such service %q: %w", svc.Name, name, strings.TrimPrefix(v, "service:"), errdefs.ErrNotFound)
			}
			named[name] = "docker-image://" + serviceImage(p, other)
		case strings.Contains(v, "://") || strings.HasPrefix(v, "git@") || strings.HasPrefix(v, "target:"):
			return build.Options{}, fmt.Errorf("service %q: additional_contexts %s: only directories, docker-image:// and service: are supported: %w", svc.Name, name, errdefs.ErrInvalidArgument)
		case filepath.IsAbs(v):
			named[name] = v
		default:
			named[name] = filepath.Join(p.WorkingDir, v)
		}
	}
	network := bc.Network
	switch network {
	case "", "default", "host":
		network = ""
	case "none":
	default:
		return build.Options{}, fmt.Errorf("service %q: build.network %q: only host (the default) and none are supported: %w", svc.Name, bc.Network, errdefs.ErrInvalidArgument)
	}
	ulimits, err := buildUlimits(svc)
	if err != nil {
		return build.Options{}, err
	}
	// As Compose labels the images it builds.
	labels := map[string]string{record.LabelVersion: Version, record.LabelProject: p.Name, record.LabelService: svc.Name}
	for k, v := range bc.Labels {
		labels[k] = v
	}
	return build.Options{
		ExtraHosts: bc.ExtraHosts, ShmSize: int64(bc.ShmSize), Network: network, Privileged: bc.Privileged,
		Secrets: secrets, NamedContexts: named, Context: ctxDir, Dockerfile: bc.Dockerfile, DockerfileInline: bc.DockerfileInline,
		Args: args, Target: bc.Target, Labels: labels, Tags: tags,
		NoCache: bc.NoCache, NoCacheFilter: bc.NoCacheFilter, Ulimits: ulimits, Pull: bc.Pull, Name: svc.Name,
	}, nil
}

// buildUlimits are build.ulimits as the RUN steps' resource limits.
func buildUlimits(svc types.ServiceConfig) ([]runspec.Ulimit, error) {
	var out []runspec.Ulimit
	for _, name := range sortedNames(svc.Build.Ulimits) {
		c := svc.Build.Ulimits[name]
		if c == nil {
			continue
		}
		u := runspec.Ulimit{Name: name, Soft: int64(c.Soft), Hard: int64(c.Hard)}
		if c.Single != 0 {
			u.Soft, u.Hard = int64(c.Single), int64(c.Single)
		}
		if err := container.CheckUlimit(u); err != nil {
			return nil, fmt.Errorf("service %q: build.ulimits: %w", svc.Name, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// buildWarnings are the lines said about what a build of svc leaves out:
// Docker's BuildKit imports (cache_from) and exports (cache_to) build
// caches; this builder keeps its own step cache only.
func buildWarnings(svc types.ServiceConfig) []string {
	var out []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"cache_from", len(svc.Build.CacheFrom) > 0}, {"cache_to", len(svc.Build.CacheTo) > 0}} {
		if k.set {
			out = append(out, fmt.Sprintf("service %q: build.%s is ignored: the builder reuses its own step cache only", svc.Name, k.name))
		}
	}
	return out
}

// buildSecrets reads the secrets a service's build may mount (`build.secrets`
// naming top-level secrets from a file or an environment variable), by id:
// the target when given, else the secret's name.
func buildSecrets(p *types.Project, svc types.ServiceConfig) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, ref := range svc.Build.Secrets {
		sec, ok := p.Secrets[ref.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: build secret %q is not defined in the top-level secrets: %w", svc.Name, ref.Source, errdefs.ErrInvalidArgument)
		}
		id := ref.Source
		if ref.Target != "" {
			id = ref.Target
		}
		switch {
		case sec.File != "":
			f := sec.File
			if !filepath.IsAbs(f) {
				f = filepath.Join(p.WorkingDir, f)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("service %q: build secret %q: %w", svc.Name, ref.Source, errdefs.Mark(errdefs.ErrNotFound, err))
			}
			out[id] = data
		case sec.Environment != "":
			out[id] = []byte(os.Getenv(sec.Environment))
		case sec.Content != "":
			out[id] = []byte(sec.Content)
		default:
			return nil, fmt.Errorf("service %q: build secret %q: only file and environment secrets can be used in builds: %w", svc.Name, ref.Source, errdefs.ErrInvalidArgument)
		}
	}
	return out, nil
}

// printBuildPlan writes what would be built, as JSON (`build --print`).
func printBuildPlan(p *types.Project, svcs []types.ServiceConfig, args map[string]string, opts BuildOptions) error {
	type target struct {
		Context    string            `json:"context"`
		Dockerfile string            `json:"dockerfile,omitempty"`
		Inline     string            `json:"dockerfile-inline,omitempty"`
		Args       map[string]string `json:"args,omitempty"`
		Labels     map[string]string `json:"labels,omitempty"`
		Tags       []string          `json:"tags"`
		Target     string            `json:"target,omitempty"`
		NoCache    bool              `json:"no-cache,omitempty"`
		Pull       bool              `json:"pull,omitempty"`
	}
	plan := struct {
		Group  map[string]map[string][]string `json:"group"`
		Target map[string]target              `json:"target"`
	}{Group: map[string]map[string][]string{"default": {"targets": {}}}, Target: map[string]target{}}
	for _, svc := range svcs {
		bo, err := buildOptions(p, svc, args)
		if err != nil {
			return err
		}
		df := bo.Dockerfile
		if df == "" && bo.DockerfileInline == "" {
			df = "Dockerfile"
		}
		plan.Group["default"]["targets"] = append(plan.Group["default"]["targets"], svc.Name)
		plan.Target[svc.Name] = target{Context: bo.Context, Dockerfile: df, Inline: bo.DockerfileInline, Args: bo.Args, Labels: bo.Labels, Tags: bo.Tags, Target: bo.Target, NoCache: bo.NoCache || opts.NoCache, Pull: bo.Pull || opts.Pull}
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(plan)
}

// buildOrder puts the services to build in an order where a service comes
// after those it depends on and those whose image it uses as an
// additional context ("service:NAME"), so a Dockerfile can start FROM an
// image built in the same run.
func buildOrder(svcs []types.ServiceConfig) []types.ServiceConfig {
	byName := map[string]types.ServiceConfig{}
	for _, s := range svcs {
		byName[s.Name] = s
	}
	var out []types.ServiceConfig
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(s types.ServiceConfig)
	visit = func(s types.ServiceConfig) {
		if state[s.Name] != 0 {
			return // done, or a cycle (reported elsewhere): keep going
		}
		state[s.Name] = 1
		var deps []string
		for d := range s.DependsOn {
			deps = append(deps, d)
		}
		if s.Build != nil {
			for _, v := range s.Build.AdditionalContexts {
				if d, ok := strings.CutPrefix(v, "service:"); ok {
					deps = append(deps, d)
				}
			}
		}
		sort.Strings(deps)
		for _, d := range deps {
			if ds, ok := byName[d]; ok {
				visit(ds)
			}
		}
		state[s.Name] = 2
		out = append(out, s)
	}
	for _, s := range svcs {
		visit(s)
	}
	return out
}
