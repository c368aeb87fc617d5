package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"golang.org/x/sync/errgroup"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
	"github.com/composer-dev/compose/watch"
)

// WatchOptions are the flags of `compose watch`.
type WatchOptions struct {
	Services []string
	NoUp     bool      // --no-up: watch what runs, without an `up` first
	Prune    bool      // --prune: remove the image a rebuild replaced
	Quiet    bool      // --quiet: no build output
	Out      io.Writer // the watch's own lines ("Watch enabled", "Syncing ...")
	// Debounce folds changes into batches; zero means watch.DefaultDebounce.
	Debounce watch.Debounce
}

// serviceRule is one develop.watch entry of a service.
type serviceRule struct {
	service string
	trigger types.Trigger
	rule    *watch.Rule
}

// watchRules compiles the develop.watch rules of the selected services and
// of what they depend on, with Docker Compose's checks. none is the error
// when no service has any.
func watchRules(p *types.Project, services []string, none string, warn io.Writer) ([]serviceRule, error) {
	sel := p
	if len(services) > 0 { // naming a service enables it past its profiles
		var err error
		if sel, err = p.WithServicesEnabled(services...); err == nil {
			sel, err = sel.WithSelectedServices(services)
		}
		if err != nil {
			return nil, errdefs.Mark(errdefs.ErrNotFound, err)
		}
	}
	var out []serviceRule
	for _, name := range sortedNames(sel.Services) {
		svc := sel.Services[name]
		if svc.Develop == nil || len(svc.Develop.Watch) == 0 {
			continue
		}
		var ignored []string
		var context string
		if svc.Build != nil {
			context = svc.Build.Context
			var err error
			if ignored, err = watch.ReadDockerignore(context, svc.Build.Dockerfile); err != nil {
				return nil, fmt.Errorf("service %q: %w", name, err)
			}
		}
		for _, t := range svc.Develop.Watch {
			switch {
			case t.Action == types.WatchActionRebuild && svc.Build == nil:
				return nil, fmt.Errorf("can't watch service %q with action %s without a build context: %w", name, t.Action, errdefs.ErrInvalidArgument)
			case t.Action == types.WatchActionSyncExec && len(t.Exec.Command) == 0:
				return nil, fmt.Errorf("can't watch with action %q on service %s without a command: %w", t.Action, name, errdefs.ErrInvalidArgument)
			}
			path := t.Path
			if resolved, err := filepath.EvalSymlinks(path); err == nil {
				path = resolved
			}
			if isSyncAction(t.Action) && boundPath(path, svc.Volumes) {
				warnf(warn, "path '%s' also declared by a bind mount volume, this path won't be monitored!", t.Path)
				continue
			}
			r, err := watch.NewRule(watch.RuleConfig{
				Path: path, Target: t.Target, Include: t.Include, Ignore: t.Ignore,
				Context: context, ContextIgnore: ignored,
			})
			if err != nil {
				return nil, fmt.Errorf("service %q: develop.watch %s: %w", name, t.Path, err)
			}
			out = append(out, serviceRule{service: name, trigger: t, rule: r})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", none, errdefs.ErrInvalidArgument)
	}
	return out, nil
}

func isSyncAction(a types.WatchAction) bool {
	return a == types.WatchActionSync || a == types.WatchActionSyncRestart || a == types.WatchActionSyncExec
}

// boundPath reports whether path lies in the source of one of the
// service's bind mounts: the container sees its changes already.
func boundPath(path string, volumes []types.ServiceVolumeConfig) bool {
	for _, v := range volumes {
		if v.Type != types.VolumeTypeBind || v.Source == "" {
			continue
		}
		if rel, err := filepath.Rel(v.Source, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}

// Watch is `compose watch`: it brings the services up (unless NoUp), then
// applies their develop.watch rules to every change under the watched
// paths until ctx ends.
func (e *Engine) Watch(ctx context.Context, p *types.Project, opts WatchOptions) error {
	e.useHooksOf(p) // what a rebuild recreates runs its hooks
	rules, err := watchRules(p, opts.Services, "none of the selected services is configured for watch, consider setting a 'develop' section", e.err)
	if err != nil {
		return err
	}
	if !opts.NoUp {
		// As Docker Compose does: services under watch are built afresh (the
		// build cache makes it cheap) so the stack starts from the sources.
		q := projectCopy(p)
		for name, svc := range q.Services {
			if svc.Build != nil && svc.Develop != nil {
				svc.PullPolicy = types.PullPolicyBuild
				q.Services[name] = svc
			}
		}
		if err := e.Up(ctx, q, UpOptions{Services: opts.Services, Detach: true, QuietBuild: opts.Quiet, Out: io.Discard}); err != nil {
			return err
		}
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	s := &watchSession{e: e, project: p, rules: rules, opts: opts, log: func(line string) { fmt.Fprintln(out, line) }, out: out}
	return s.run(ctx)
}

// startWatch runs `up --watch`'s watch beside the attached logs, its lines
// marked among them; stop ends it once `up` is done.
func (e *Engine) startWatch(ctx context.Context, p *types.Project, opts UpOptions, printer *logs.Printer) (stop func(), err error) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &watchSession{e: e, project: p, rules: opts.rules, log: printer.Watch, out: opts.Out, started: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- s.run(wctx) }()
	select {
	case <-s.started:
	case err := <-done:
		cancel()
		return nil, err
	}
	return func() {
		cancel()
		if err := <-done; err == nil {
			printer.Watch("Watch disabled")
		}
	}, nil
}

// watchSession applies a project's watch rules.
type watchSession struct {
	e       *Engine
	project *types.Project
	rules   []serviceRule
	opts    WatchOptions
	log     func(line string) // the watch's own lines
	out     io.Writer         // sync+exec output
	// started is closed once the watch is set up (tests and up --watch).
	started chan struct{}
}

// run watches until ctx ends or the watch fails.
func (s *watchSession) run(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	w, err := watch.New(s.roots(), s.skipDir)
	if err != nil {
		return err
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	matched := make(chan string, 1024)
	go func() { // only changes some rule acts on make a batch
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-w.Events():
				if s.matches(p) {
					select {
					case matched <- p:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	d := s.opts.Debounce
	if d == (watch.Debounce{}) {
		d = watch.DefaultDebounce
	}
	batches := watch.Batch(ctx, matched, d)
	s.log("Watch enabled")
	if s.started != nil {
		close(s.started)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors():
			fmt.Fprintln(s.e.err, "Watch disabled with errors: "+err.Error())
			return err
		case batch, ok := <-batches:
			if !ok {
				return nil
			}
			if len(batch) > 1000 {
				warnf(s.e.err, "Very large batch of file changes detected: %d files. This may impact performance.", len(batch))
				s.log("Large batch of file changes detected. If you just switched branches, this is expected.")
			}
			if err := s.handle(ctx, batch); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				warnf(s.e.err, "Error handling changed files: %v", err)
			}
		}
	}
}

// roots are the paths to watch, each once.
func (s *watchSession) roots() []string {
	var out []string
	for _, r := range s.rules {
		if !slices.Contains(out, r.rule.Path) {
			out = append(out, r.rule.Path)
		}
	}
	return out
}

// skipDir: a directory needs no watch when every rule over it ignores it.
func (s *watchSession) skipDir(dir string) bool {
	for _, r := range s.rules {
		if !r.rule.SkipDir(dir) {
			return false
		}
	}
	return true
}

func (s *watchSession) matches(path string) bool {
	for _, r := range s.rules {
		if _, ok := r.rule.Match(path); ok {
			return true
		}
	}
	return false
}

// handle applies the rules to one batch of changed paths, in Docker
// Compose's order: rebuilds, syncs, restarts, then the sync+exec commands,
// each at most once per service.
func (s *watchSession) handle(ctx context.Context, batch []string) error {
	rebuild, restart := map[string]bool{}, map[string]bool{}
	syncs := map[string][]container.SyncPath{}
	execs := map[string][]int{}
	for _, path := range batch {
		for i, r := range s.rules {
			target, ok := r.rule.Match(path)
			if !ok {
				continue
			}
			switch r.trigger.Action {
			case types.WatchActionRebuild:
				rebuild[r.service] = true
			case types.WatchActionRestart:
				restart[r.service] = true
			case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionSyncExec:
				syncs[r.service] = append(syncs[r.service], container.SyncPath{Host: path, Container: target})
				if r.trigger.Action == types.WatchActionSyncRestart {
					restart[r.service] = true
				}
				if r.trigger.Action == types.WatchActionSyncExec && !slices.Contains(execs[r.service], i) {
					execs[r.service] = append(execs[r.service], i)
				}
			}
		}
	}
	if len(rebuild) > 0 {
		if err := s.rebuild(ctx, sortedKeys(rebuild)); err != nil {
			return err
		}
	}
	for _, svc := range sortedNames(syncs) {
		s.log(fmt.Sprintf("Syncing service %q after %d changes were detected", svc, len(syncs[svc])))
		if err := s.sync(ctx, svc, syncs[svc]); err != nil {
			return err
		}
	}
	if len(restart) > 0 {
		services := sortedKeys(restart)
		if err := s.e.restartWithDependents(ctx, s.project, services); err != nil {
			return err
		}
		s.log(fmt.Sprintf("service(s) %q restarted", services))
	}
	var g errgroup.Group
	for _, svc := range sortedNames(execs) {
		for _, i := range execs[svc] {
			if err := s.exec(ctx, &g, svc, s.rules[i].trigger.Exec); err != nil {
				return err
			}
		}
	}
	return g.Wait()
}

// sync copies paths into every container of the service, in parallel.
func (s *watchSession) sync(ctx context.Context, service string, paths []container.SyncPath) error {
	recs, err := s.e.serviceContainers(s.project.Name, service)
	if err != nil {
		return err
	}
	var g errgroup.Group
	for _, r := range recs {
		g.Go(func() error {
			if err := s.e.runtime.Sync(ctx, r.Dir, paths); err != nil {
				return fmt.Errorf("container %s: %w", r.Name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// exec starts a sync+exec command in each running container of the service.
func (s *watchSession) exec(ctx context.Context, g *errgroup.Group, service string, hook types.ServiceHook) error {
	recs, err := s.e.serviceContainers(s.project.Name, service)
	if err != nil {
		return err
	}
	var env []string
	for k, v := range hook.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	slices.Sort(env)
	for _, r := range recs {
		if !isRunning(r) {
			continue
		}
		g.Go(func() error {
			code, err := s.e.runtime.Exec(ctx, r.Dir, container.ExecSpec{
				Args: hook.Command, Env: env, Cwd: hook.WorkingDir, User: hook.User,
				Privileged: hook.Privileged, Stdout: s.out, Stderr: s.e.err,
			})
			if err == nil && code != 0 {
				err = fmt.Errorf("exit status %d", code)
			}
			if err != nil {
				return fmt.Errorf("container %s: %w", r.Name, err)
			}
			return nil
		})
	}
	return nil
}

// rebuild builds the services' images (with the build cache), replaces
// their containers and restarts their dependents that ask for it. A failed
// build leaves the running containers as they were.
func (s *watchSession) rebuild(ctx context.Context, services []string) error {
	e, p := s.e, s.project
	s.log(fmt.Sprintf("Rebuilding service(s) %q after changes were detected...", services))
	previous := map[string]string{} // image IDs the rebuild replaces
	var out io.Writer = &lineFunc{fn: s.log}
	if s.opts.Quiet {
		out = io.Discard
	}
	b := e.builder()
	var svcs []types.ServiceConfig
	for _, name := range services {
		svc := p.Services[name]
		svc.Image = serviceImage(p, svc)
		svcs = append(svcs, svc)
		if img, err := e.images.Get(svc.Image); err == nil {
			previous[name] = img.ID
		}
	}
	for _, svc := range buildOrder(svcs) {
		bo, err := buildOptions(p, svc, nil)
		if err == nil {
			bo.Out = out
			_, err = b.Build(ctx, bo)
		}
		if f, ok := out.(*lineFunc); ok {
			f.flush()
		}
		if err != nil {
			err = fmt.Errorf("service %q: %w", svc.Name, err)
			s.log(fmt.Sprintf("Build failed. Error: %v", err))
			return err
		}
	}
	s.log(fmt.Sprintf("service(s) %q successfully built", services))
	err := e.Up(ctx, p, UpOptions{Services: services, Detach: true, Build: BuildNever, Out: io.Discard,
		Converge: ConvergeOptions{ForceRecreate: true, NoDeps: true}})
	if err != nil {
		s.log(fmt.Sprintf("Failed to recreate services after update. Error: %v", err))
		return err
	}
	if err := e.restartDependents(ctx, p, services); err != nil {
		s.log(fmt.Sprintf("Application failed to start after update. Error: %v", err))
	}
	if s.opts.Prune {
		for _, id := range previous {
			e.pruneReplaced(ctx, id)
		}
	}
	return nil
}

// pruneReplaced removes an image a rebuild replaced, once nothing names or
// uses it (Docker Compose's --prune of dangling images).
func (e *Engine) pruneReplaced(ctx context.Context, id string) {
	_, _, _ = e.images.Prune(ctx, false, func(other string) bool { return other != id || e.imageUser(other) != "" })
}

// initialSync copies, before watching starts, the trees of the sync rules
// that ask for it (initial_sync), leaving out what the rules ignore and
// the project's own Dockerfile and compose files, as Docker Compose does.
func (s *watchSession) initialSync(ctx context.Context) error {
	for _, r := range s.rules {
		if !r.trigger.InitialSync || !isSyncAction(r.trigger.Action) {
			continue
		}
		svc := s.project.Services[r.service]
		skip := map[string]bool{"Dockerfile": true}
		for _, n := range composeFileNames {
			skip[n] = true
		}
		if svc.Build != nil && svc.Build.Dockerfile != "" {
			skip[filepath.Base(svc.Build.Dockerfile)] = true
		}
		var paths []container.SyncPath
		err := filepath.WalkDir(r.rule.Path, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != r.rule.Path && r.rule.SkipDir(path) {
					return filepath.SkipDir
				}
				return nil
			}
			if target, ok := r.rule.Match(path); ok && !skip[d.Name()] {
				paths = append(paths, container.SyncPath{Host: path, Container: target})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("service %q: initial sync of %s: %w", r.service, r.trigger.Path, err)
		}
		if err := s.sync(ctx, r.service, paths); err != nil {
			return fmt.Errorf("service %q: initial sync of %s: %w", r.service, r.trigger.Path, err)
		}
	}
	return nil
}

// composeFileNames are the compose files Docker Compose looks for (and
// never syncs in an initial sync).
var composeFileNames = []string{
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
	"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml",
}

// restartWithDependents restarts the services' containers and those of
// the services that depend on them with `restart: true`, in dependency
// order (Docker Compose's restart).
func (e *Engine) restartWithDependents(ctx context.Context, p *types.Project, services []string) error {
	all := append(slices.Clone(services), restartDependents(p, services)...)
	return e.Restart(ctx, p.Name, p, RestartOptions{Services: all, NoDeps: true})
}

// restartDependents restarts what depends on the services with `restart: true`.
func (e *Engine) restartDependents(ctx context.Context, p *types.Project, services []string) error {
	deps := restartDependents(p, services)
	if len(deps) == 0 {
		return nil
	}
	return e.Restart(ctx, p.Name, p, RestartOptions{Services: deps, NoDeps: true})
}

// restartDependents are the services that depend, with `restart: true`, on
// one of services, or on such a dependent (sorted, services excluded).
func restartDependents(p *types.Project, services []string) []string {
	in := map[string]bool{}
	for _, s := range services {
		in[s] = true
	}
	var out []string
	for changed := true; changed; {
		changed = false
		for _, name := range sortedNames(p.Services) {
			if in[name] {
				continue
			}
			for dep, d := range p.Services[name].DependsOn {
				if d.Restart && in[dep] {
					in[name] = true
					out = append(out, name)
					changed = true
					break
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// lineFunc calls fn with each complete line written to it.
type lineFunc struct {
	fn  func(string)
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineFunc) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(l.buf.Next(i + 1))
		l.fn(strings.TrimSuffix(line, "\n"))
	}
}

// flush passes on a last line without a newline.
func (l *lineFunc) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.fn(l.buf.String())
		l.buf.Reset()
	}
}

// processStart is when this process began: Docker's warnings count their
// seconds from it (WARN[0003]).
var processStart = time.Now()

// warnf prints a warning the way Docker Compose's logger does.
func warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "WARN[%04d] %s\n", int(time.Since(processStart).Seconds()), fmt.Sprintf(format, args...))
}
