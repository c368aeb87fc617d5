package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
)

// selectRecords returns the project's containers of services (all when
// empty); one-off (`run`) containers only with oneoff.
func (e *Engine) selectRecords(projectName string, services []string, oneoff bool) ([]*record.Record, error) {
	all, err := e.containers(projectName)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, s := range services {
		wanted[s] = true
	}
	var out []*record.Record
	for _, r := range all {
		if len(wanted) > 0 && !wanted[r.Service] {
			continue
		}
		if !oneoff && r.Labels[record.LabelOneoff] == "True" {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// runningContainer is the running container of service that exec and
// attach act on, as Docker Compose's getSpecifiedContainer picks it
// (pkg/compose/containers.go): number index when index > 0, else the
// lowest-numbered one (one-off containers last).
func (e *Engine) runningContainer(projectName, service string, index int) (*record.Record, error) {
	recs, err := e.selectRecords(projectName, []string{service}, true)
	if err != nil {
		return nil, err
	}
	var found *record.Record
	for _, r := range recs {
		if !isRunning(r) || index > 0 && r.Number != index {
			continue
		}
		if found == nil || before(r, found) {
			found = r
		}
	}
	if found != nil {
		return found, nil
	}
	if index > 0 {
		return nil, fmt.Errorf("service %q is not running container #%d: %w", service, index, errdefs.ErrFailedPrecondition)
	}
	return nil, fmt.Errorf("service %q is not running: %w", service, errdefs.ErrFailedPrecondition)
}

// before orders containers as Compose's getSpecifiedContainer does: by
// number, a one-off after the service's own container of the same number.
func before(a, b *record.Record) bool {
	if a.Number != b.Number {
		return a.Number < b.Number
	}
	return a.Labels[record.LabelOneoff] != "True" && b.Labels[record.LabelOneoff] == "True"
}

// serviceOrder orders the services of recs as up starts them (when the
// project is known); unknown services come last, sorted.
func serviceOrder(p *types.Project, recs []*record.Record) []string {
	seen := map[string]bool{}
	var names []string
	if p != nil {
		if g, err := graph.New(p); err == nil {
			_ = g.Walk(context.Background(), graph.Up, 1, func(_ context.Context, s string) error {
				names = append(names, s)
				seen[s] = true
				return nil
			})
		}
	}
	var rest []string
	for _, r := range recs {
		if !seen[r.Service] {
			seen[r.Service] = true
			rest = append(rest, r.Service)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// Start starts the existing containers of services (all when empty) and
// of what they depend on, in dependency order, each service once its
// dependencies meet their depends_on conditions, like `docker compose
// start` (pkg/compose/start.go).
func (e *Engine) Start(ctx context.Context, projectName string, p *types.Project, services []string) error {
	e.beginProgress("start")
	defer e.endProgress()
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer e.unlockProject(lock, projectName)
	if err := e.repairProject(ctx, projectName); err != nil {
		return err
	}
	all, err := e.selectRecords(projectName, nil, false)
	if err != nil {
		return err
	}
	// Docker Compose's words (convergence.go, startService; compose.go,
	// projectFromName, whose "not found" is part of the message).
	for _, s := range services {
		if !hasService(all, s) {
			return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("service %q has no container to start", s))
		}
	}
	if order := serviceOrder(p, nil); len(all) == 0 && len(order) > 0 {
		return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("service %q has no container to start", order[0]))
	}
	if len(all) == 0 {
		return fmt.Errorf("no container found for project %q: %w", projectName, errdefs.ErrNotFound)
	}
	lp := lifecycleProject(projectName, enableNamed(p, services), all)
	g, err := startSet(lp, services)
	if err != nil {
		return err
	}
	set := g.Services()
	recs := ofServices(all, set)
	if err := e.would(func() error { return e.ensureNetworks(ctx, recs) }); err != nil {
		return err
	}
	e.useHooksOf(p)
	for _, s := range order(g) {
		if err := e.waitFor(ctx, lp.Services[s], set, all, false); err != nil {
			return err
		}
		if err := e.startService(ctx, p, s, recs); err != nil {
			return err
		}
	}
	return nil
}

// startService starts the stopped containers of service among recs, after
// its pre_start hooks when none of them runs (as Docker Compose decides).
func (e *Engine) startService(ctx context.Context, p *types.Project, service string, recs []*record.Record) error {
	var stopped []*record.Record
	running := false
	for _, r := range recs {
		switch {
		case r.Service != service:
		case isRunning(r):
			running = true
		default:
			stopped = append(stopped, r)
		}
	}
	if len(stopped) == 0 {
		return nil
	}
	if svc, ok := e.hookService(stopped[0]); ok && !running && len(svc.PreStart) > 0 {
		first := slices.MinFunc(stopped, func(a, b *record.Record) int { return a.Number - b.Number })
		img, err := e.images.Get(serviceImage(p, svc))
		if err != nil {
			return fmt.Errorf("service %q: %w", service, err)
		}
		if err := e.runPreStart(ctx, p, svc, first, img); err != nil {
			return err
		}
	}
	for _, r := range stopped {
		if err := e.startRecord(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// enableNamed enables the named services a profile disables: naming one on
// the command line selects it, as in Compose.
func enableNamed(p *types.Project, services []string) *types.Project {
	if p == nil {
		return nil
	}
	var disabled []string
	for _, s := range services {
		if _, ok := p.DisabledServices[s]; ok {
			disabled = append(disabled, s)
		}
	}
	if len(disabled) == 0 {
		return p
	}
	if q, err := p.WithServicesEnabled(disabled...); err == nil {
		return q
	}
	return p
}

// ofServices keeps the records of the services.
func ofServices(recs []*record.Record, services []string) []*record.Record {
	var out []*record.Record
	for _, r := range recs {
		if slices.Contains(services, r.Service) {
			out = append(out, r)
		}
	}
	return out
}

// ensureNetworks recreates the networks containers join if they vanished
// (a reboot), so start works from the state on disk alone.
func (e *Engine) ensureNetworks(ctx context.Context, recs []*record.Record) error {
	done := map[string]bool{}
	var names []string
	for _, r := range recs {
		for _, a := range r.Networks {
			if done[a.Network] {
				continue
			}
			done[a.Network] = true
			names = append(names, a.Network)
			n, err := e.nets.Get(a.Network)
			if err != nil {
				return fmt.Errorf("network %s: %w", a.Network, err)
			}
			if _, err := e.nets.Ensure(ctx, a.Network, n.Labels); err != nil {
				return fmt.Errorf("network %s: %w", a.Network, err)
			}
		}
	}
	if len(names) > 0 {
		return e.nets.EnsureDNS(ctx, names...)
	}
	return nil
}

func hasService(recs []*record.Record, service string) bool {
	for _, r := range recs {
		if r.Service == service {
			return true
		}
	}
	return false
}

// Stop stops the running containers of services (all when empty),
// dependents first; paused ones are thawed so they can stop gracefully.
func (e *Engine) Stop(ctx context.Context, projectName string, p *types.Project, services []string, timeout *time.Duration) error {
	e.beginProgress("stop")
	defer e.endProgress()
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer e.unlockProject(lock, projectName)
	repairErr := e.repairProject(ctx, projectName) // what is running still stops
	recs, err := e.selectRecords(projectName, services, false)
	if err != nil {
		return err
	}
	var g *graph.Graph
	if p != nil {
		g, _ = graph.New(p)
		if len(services) == 0 { // the services of these compose files only (`-f one.yaml stop`)
			recs = ofServices(recs, p.ServiceNames())
		}
	}
	e.resumePaused(ctx, recs)
	e.useHooksOf(p)
	if err := e.stopProject(ctx, g, recs, timeout); err != nil {
		return errors.Join(err, repairErr)
	}
	return errors.Join(e.providersDo(ctx, p, g, "stop", services...), repairErr) // when a provider can stop
}

func (e *Engine) resumePaused(ctx context.Context, recs []*record.Record) {
	for _, r := range recs {
		if e.runtime.Paused(r.Dir) {
			_ = e.would(func() error { return e.runtime.Resume(ctx, r.Dir) })
		}
	}
}

// RestartOptions are the flags of `compose restart`.
type RestartOptions struct {
	Services []string
	Timeout  *time.Duration
	// NoDeps restarts only the named services, not those that depend on
	// them with `restart: true`.
	NoDeps bool
}

// Restart stops and starts the containers of services (all when empty)
// and of the services that depend on them with `restart: true` (unless
// NoDeps), never their dependencies, like `docker compose restart`
// (pkg/compose/restart.go): in dependency order, each service once its
// `restart: true` dependencies meet their condition (healthy...).
// Stopped containers are started too, as `docker restart` does.
func (e *Engine) Restart(ctx context.Context, projectName string, p *types.Project, opts RestartOptions) error {
	e.beginProgress("restart")
	defer e.endProgress()
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer e.unlockProject(lock, projectName)
	if err := e.repairProject(ctx, projectName); err != nil {
		return err
	}
	all, err := e.selectRecords(projectName, nil, false)
	if err != nil {
		return err
	}
	lp := lifecycleProject(projectName, enableNamed(p, opts.Services), all)
	g, err := restartSet(lp, opts.Services, opts.NoDeps)
	if err != nil {
		return err
	}
	set := g.Services()
	recs := ofServices(all, set)
	if err := e.would(func() error { return e.ensureNetworks(ctx, recs) }); err != nil {
		return err
	}
	e.resumePaused(ctx, recs)
	e.useHooksOf(p)
	for _, s := range order(g) {
		if err := e.waitFor(ctx, lp.Services[s], set, all, true); err != nil {
			return err
		}
		if err := e.restartRecords(ctx, ofServices(recs, []string{s}), opts.Timeout); err != nil {
			return err
		}
	}
	return nil
}

// restartRecords restarts one service's containers in parallel, each with
// its pre_stop hooks first and its post_start hooks once it runs again.
func (e *Engine) restartRecords(ctx context.Context, recs []*record.Record, timeout *time.Duration) error {
	errs := make(chan error, len(recs))
	for _, r := range recs {
		go func() {
			if err := e.preStop(ctx, r); err != nil { // Docker runs pre_stop, then restarts
				errs <- err
				return
			}
			e.progress("Container", r.Name, "Restarting")
			err := e.would(func() error {
				if err := e.runtime.Stop(ctx, r.Dir, recordTimeout(r, timeout)); err != nil {
					return err
				}
				return e.runtime.Start(ctx, r.Spec)
			})
			if err != nil {
				errs <- fmt.Errorf("container %s: %w", r.Name, err)
				return
			}
			e.progress("Container", r.Name, "Started")
			errs <- e.postStart(ctx, r)
		}()
	}
	var all []error
	for range recs {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// Kill sends sig (default SIGKILL) to the running containers of services.
func (e *Engine) Kill(ctx context.Context, projectName string, services []string, sig string) error {
	e.beginProgress("kill")
	defer e.endProgress()
	if sig == "" {
		sig = "SIGKILL"
	}
	s, err := parseSignal(sig)
	if err != nil {
		return err
	}
	recs, err := e.selectRecords(projectName, services, false)
	if err != nil {
		return err
	}
	var errs []error
	killed := 0
	for _, r := range recs {
		if !isRunning(r) {
			continue
		}
		killed++
		e.progress("Container", r.Name, "Killing")
		if err := e.would(func() error { return e.runtime.Kill(ctx, r.Dir, s) }); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", r.Name, err))
			continue
		}
		e.progress("Container", r.Name, "Killed")
	}
	if killed == 0 { // Docker Compose: cmd/compose/kill.go, on api.ErrNoResources
		e.endProgress()
		fmt.Fprintln(e.err, "No container to kill")
	}
	return errors.Join(errs...)
}

// parseSignal is the runtime's signal parser, without its default: an empty
// --signal is a mistake here, not SIGTERM.
func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid signal %q: %w", s, errdefs.ErrInvalidArgument)
	}
	return container.ParseSignal(s)
}

// Pause freezes the running containers of services.
func (e *Engine) Pause(ctx context.Context, projectName string, services []string) error {
	return e.eachRunning(projectName, services, "pause", "Paused", func(r *record.Record) error {
		return e.runtime.Pause(ctx, r.Dir)
	})
}

// Unpause thaws the paused containers of services.
func (e *Engine) Unpause(ctx context.Context, projectName string, services []string) error {
	return e.eachRunning(projectName, services, "unpause", "Unpaused", func(r *record.Record) error {
		if !e.runtime.Paused(r.Dir) {
			return nil
		}
		return e.runtime.Resume(ctx, r.Dir)
	})
}

// eachRunning applies fn to the running containers of services, reporting
// only the outcome, as Docker Compose's pause and unpause do (pause.go).
func (e *Engine) eachRunning(projectName string, services []string, operation, done string, fn func(*record.Record) error) error {
	e.beginProgress(operation)
	defer e.endProgress()
	recs, err := e.selectRecords(projectName, services, false)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		if !isRunning(r) {
			continue
		}
		if err := e.would(func() error { return fn(r) }); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", r.Name, err))
			continue
		}
		e.progress("Container", r.Name, done)
	}
	return errors.Join(errs...)
}

// RmOptions are the flags of `compose rm`.
type RmOptions struct {
	Services []string
	Stop     bool // -s: stop running containers first
	Volumes  bool // -v: also remove the containers' anonymous volumes
	// Confirm asks the user before removing; nil = -f (no question). It
	// gets Compose's message, "Going to remove a, b".
	Confirm func(msg string) (bool, error)
	Out     *os.File
}

// Rm removes the stopped containers of services, like `docker compose rm`:
// running ones are left alone unless Stop.
func (e *Engine) Rm(ctx context.Context, projectName string, p *types.Project, opts RmOptions) error {
	if opts.Stop {
		if err := e.Stop(ctx, projectName, p, opts.Services, nil); err != nil {
			return err
		}
	}
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer e.unlockProject(lock, projectName)
	repairErr := e.repairProject(ctx, projectName) // the removal goes on: it releases what it can
	recs, err := e.selectRecords(projectName, opts.Services, false)
	if err != nil {
		return err
	}
	var stopped []*record.Record
	var names []string
	for _, r := range recs {
		if !isRunning(r) || opts.Stop && e.dryRun { // a dry -s stopped nothing
			stopped = append(stopped, r)
			names = append(names, r.Name)
		}
	}
	if len(stopped) == 0 {
		fmt.Fprintln(e.err, "No stopped containers")
		return repairErr
	}
	msg := "Going to remove " + strings.Join(names, ", ")
	if opts.Confirm == nil {
		if opts.Out != nil {
			fmt.Fprintln(opts.Out, msg)
		}
	} else {
		ok, err := opts.Confirm(msg)
		if err != nil || !ok {
			return err
		}
	}
	e.beginProgress("remove")
	defer e.endProgress()
	var errs []error
	for _, r := range stopped {
		e.progress("Container", r.Name, "Removing")
		if err := e.would(func() error { return e.remove(ctx, r) }); err != nil {
			errs = append(errs, err)
			continue
		}
		e.progress("Container", r.Name, "Removed")
		if opts.Volumes {
			errs = append(errs, e.would(func() error { return e.removeAnonymousVolumes(ctx, r) }))
		}
	}
	return errors.Join(append(errs, repairErr)...)
}
