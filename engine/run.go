package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	shellwords "github.com/mattn/go-shellwords"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
	"github.com/composer-dev/compose/project"
)

// labelSlug identifies a one-off container, as Compose labels it.
const labelSlug = "com.docker.compose.slug"

// RunOptions are the flags of `compose run`.
type RunOptions struct {
	Service      string
	Command      []string // nil = the service's command
	Entrypoint   *string  // --entrypoint, split like a shell would
	Name         string   // --name; default <project>-<service>-run-<12 hex>
	Detach       bool
	Rm           bool
	NoDeps       bool
	Env          []string // KEY=VALUE, or KEY to take it from this environment
	Labels       []string // KEY=VALUE
	User         string
	Workdir      string
	Volumes      []string // HOST:CONTAINER[:ro|rw] bind mounts
	Publish      []string
	ServicePorts bool
	Tty          bool
	Interactive  bool
	Pull         string      // --pull: "policy" (the service's pull_policy), "always", "missing", "never"
	Build        BuildPolicy // --build
	// EnvFiles (--env-from-file) add the variables -e does not set.
	EnvFiles []string
	// CapAdd and CapDrop (--cap-add, --cap-drop) add to the service's.
	CapAdd, CapDrop []string
	// UseAliases (--use-aliases) gives the container the service's name
	// and network aliases; without it only its own name resolves.
	UseAliases bool
	QuietPull  bool // --quiet-pull
	QuietBuild bool // --quiet-build
	// RemoveOrphans and IgnoreOrphans: what is done about containers of
	// services no longer declared, when the dependencies are brought up.
	RemoveOrphans, IgnoreOrphans bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Resize         <-chan container.WindowSize
}

// Run creates and starts a one-off container of a service (after the
// services it depends on, unless NoDeps) and, unless Detach, streams its
// output until it exits. It returns the container's exit code.
func (e *Engine) Run(ctx context.Context, p *types.Project, opts RunOptions) (int, error) {
	if opts.Detach && opts.Rm {
		return 0, fmt.Errorf("--rm with --detach is not supported yet: %w", errdefs.ErrInvalidArgument)
	}
	if opts.RemoveOrphans && opts.IgnoreOrphans {
		return 0, fmt.Errorf("cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans: %w", errdefs.ErrInvalidArgument)
	}
	pl, err := e.plan(p, []string{opts.Service})
	if err != nil {
		return 0, err
	}
	pl.quietPull, pl.quietBuild = opts.QuietPull, opts.QuietBuild
	pl.run = true
	if err := e.resolveImages(ctx, pl, opts.Pull, opts.Build); err != nil {
		return 0, err
	}
	svc, err := pl.project.GetService(opts.Service)
	if err != nil {
		return 0, err
	}
	if err := runPorts(&svc, opts); err != nil {
		return 0, err
	}
	if svc.Volumes, err = specgen.RunVolumes(pl.project.WorkingDir, svc.Volumes, opts.Volumes); err != nil {
		return 0, err
	}
	if err := e.checkServiceStorage(pl.project, svc, pl.images[svc.Name]); err != nil {
		return 0, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	if opts.Env, err = withEnvFiles(opts.Env, opts.EnvFiles); err != nil {
		return 0, err
	}
	if err := runService(&svc, opts); err != nil {
		return 0, err
	}
	labels, err := keyValues(opts.Labels, "--label")
	if err != nil {
		return 0, err
	}
	slug := record.NewID()
	labels[labelSlug] = slug
	name := opts.Name
	if name == "" {
		name = e.runName(pl.project.Name, svc.Name, slug[:12])
	}

	e.useHooksOf(pl.project)
	rec, err := e.createRun(ctx, pl, svc, opts, createOverrides{name: name, oneoff: true, labels: labels, noAliases: !opts.UseAliases})
	if err != nil {
		return 0, err
	}
	if err := e.runtime.Start(ctx, rec.Spec); err != nil {
		if opts.Rm {
			_ = e.remove(context.WithoutCancel(ctx), rec)
		}
		return 0, err
	}
	// post_start runs beside the attached output, as in Docker Compose
	// (runPostStartHooksOnEvent); its failure is the run's if the run
	// itself did not fail.
	hookErr := make(chan error, 1)
	go func() { hookErr <- e.postStart(ctx, rec) }()
	if opts.Detach {
		if err := <-hookErr; err != nil {
			return 0, err
		}
		fmt.Fprintln(opts.Stdout, rec.Name)
		return 0, nil
	}
	code, err := e.attachRun(ctx, rec, opts)
	if herr := <-hookErr; herr != nil && err == nil {
		err = herr
	}
	if opts.Rm {
		rerr := e.remove(context.WithoutCancel(ctx), rec)
		if rerr == nil { // like `docker run --rm`: its anonymous volumes go too
			rerr = e.removeAnonymousVolumes(context.WithoutCancel(ctx), rec)
		}
		if err == nil {
			err = rerr
		}
	}
	return code, err
}

// createRun starts what the service depends on (unless noDeps) and creates
// the one-off container, under the project's lock.
func (e *Engine) createRun(ctx context.Context, pl *plan, svc types.ServiceConfig, opts RunOptions, ov createOverrides) (*record.Record, error) {
	lock, err := e.lockProject(ctx, pl.project.Name)
	if err != nil {
		return nil, err
	}
	defer e.unlockProject(lock, pl.project.Name)
	if err := e.repairProject(ctx, pl.project.Name); err != nil {
		return nil, err
	}
	all, err := e.containers(pl.project.Name)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Name == ov.name {
			return nil, fmt.Errorf("container name %q is already in use: %w", ov.name, errdefs.ErrConflict)
		}
	}
	var deps []string
	if !opts.NoDeps {
		// As Docker Compose's `run`, bringing up the dependencies deals
		// with orphans as `up` does.
		orphans, err := e.handleOrphans(pl.project, opts.RemoveOrphans, opts.IgnoreOrphans)
		if err == nil {
			err = e.removeOrphans(ctx, orphans)
		}
		if err != nil {
			return nil, err
		}
		deps = pl.graph.Dependencies(svc.Name)
	}
	depPlan := *pl
	if depPlan.graph, err = pl.graph.Subset(deps, true); err != nil {
		return nil, err
	}
	e.beginProgress(pl.operation())
	err = e.converge(ctx, &depPlan)
	e.endProgress()
	if err != nil {
		return nil, err
	}
	hash, err := project.ConfigHash(svc)
	if err != nil {
		return nil, err
	}
	return e.createWith(ctx, pl, svc, 1, hash, pl.images[svc.Name], ov)
}

// runService applies run's overrides to the service.
func runService(svc *types.ServiceConfig, opts RunOptions) error {
	if opts.Entrypoint != nil {
		ep, err := shellwords.Parse(*opts.Entrypoint)
		if err != nil {
			return fmt.Errorf("--entrypoint %q: %w", *opts.Entrypoint, errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
		svc.Entrypoint = ep
		svc.Command = types.ShellCommand{} // a new entrypoint drops the old command, as with Docker
	}
	if opts.Command != nil {
		svc.Command = opts.Command
	}
	env := types.MappingWithEquals{}
	for k, v := range svc.Environment {
		env[k] = v
	}
	for _, kv := range resolveEnv(opts.Env) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = &v
	}
	svc.Environment = env
	if opts.User != "" {
		svc.User = opts.User
	}
	if opts.Workdir != "" {
		svc.WorkingDir = opts.Workdir
	}
	svc.CapAdd = append(slices.Clone(svc.CapAdd), opts.CapAdd...)
	svc.CapDrop = append(slices.Clone(svc.CapDrop), opts.CapDrop...)
	svc.Tty = opts.Tty
	svc.StdinOpen = opts.Interactive
	svc.Restart = "" // a one-off container is never restarted
	if svc.Deploy != nil {
		d := *svc.Deploy
		d.RestartPolicy = nil
		svc.Deploy = &d
	}
	svc.ContainerName = ""
	return nil
}

// withEnvFiles adds to env (-e) the variables of files (--env-from-file,
// in the .env format) that env does not set, as `docker compose run` does;
// a file's values may refer to the variables set before them.
func withEnvFiles(env, files []string) ([]string, error) {
	if len(files) == 0 {
		return env, nil
	}
	set := map[string]string{}
	for _, kv := range resolveEnv(env) {
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	out := slices.Clone(env)
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--env-from-file: %w", err)
		}
		vars, err := dotenv.ParseWithLookup(f, func(k string) (string, bool) { v, ok := set[k]; return v, ok })
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--env-from-file %s: %v: %w", file, err, errdefs.ErrInvalidArgument)
		}
		for _, k := range sortedNames(vars) {
			if _, ok := set[k]; !ok {
				set[k] = vars[k]
				out = append(out, k+"="+vars[k])
			}
		}
	}
	return out, nil
}

// keyValues parses KEY=VALUE flags.
func keyValues(list []string, flag string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: use KEY=VALUE: %w", flag, kv, errdefs.ErrInvalidArgument)
		}
		out[k] = v
	}
	return out, nil
}

// attachRun streams the one-off container's output (stdout and stderr
// apart, no prefix, as `docker compose run` prints it) until it exits;
// stdin and terminal resizes go through the supervisor's attach socket.
// Ctrl-C is passed on to the container (SIGINT), like docker's sig-proxy.
func (e *Engine) attachRun(ctx context.Context, rec *record.Record, opts RunOptions) (int, error) {
	bg := context.WithoutCancel(ctx)
	attachCtx, stopAttach := context.WithCancel(bg)
	defer stopAttach()
	if opts.Tty || opts.Interactive {
		stdin := opts.Stdin
		if !opts.Interactive {
			stdin = nil
		}
		go func() { _ = e.runtime.Attach(attachCtx, rec.Dir, stdin, io.Discard, io.Discard, opts.Resize) }()
	}
	logsDone := make(chan error, 1)
	go func() {
		logsDone <- logs.Read(bg, rec.LogPath(), logs.ReadOptions{Tail: -1, Follow: true, Done: func() bool { return !isRunning(rec) }},
			func(en logs.Entry) error {
				w := opts.Stdout
				if en.Stream == "stderr" && opts.Stderr != nil && !opts.Tty {
					w = opts.Stderr
				}
				_, err := io.WriteString(w, en.Line+"\n")
				return err
			})
	}()
	st, err := e.runtime.Wait(ctx, rec.Dir)
	if err != nil && ctx.Err() != nil {
		// Ctrl-C: pass it on, then give the container its grace period.
		_ = e.runtime.Kill(bg, rec.Dir, syscall.SIGINT)
		wctx, cancel := context.WithTimeout(bg, recordTimeout(rec, nil))
		st, err = e.runtime.Wait(wctx, rec.Dir)
		cancel()
		if err != nil {
			_ = e.runtime.Stop(bg, rec.Dir, 0)
			st, err = e.runtime.Wait(bg, rec.Dir)
		}
	}
	if err != nil {
		return 0, err
	}
	select {
	case <-logsDone:
	case <-time.After(5 * time.Second): // the log reader notices the exit within its poll interval
	}
	return st.ExitCode, nil
}
