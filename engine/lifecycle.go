package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
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

// runningContainer is the service's container number index (1-based) that
// runs, for exec, cp and attach.
func (e *Engine) runningContainer(projectName, service string, index int) (*record.Record, error) {
	recs, err := e.selectRecords(projectName, []string{service}, false)
	if err != nil {
		return nil, err
	}
	if index <= 0 {
		index = 1
	}
	for _, r := range recs {
		if r.Number == index && isRunning(r) {
			return r, nil
		}
	}
	if index > 1 && len(recs) > 0 {
		return nil, fmt.Errorf("service %q is not running container #%d: %w", service, index, errdefs.ErrNotFound)
	}
	return nil, fmt.Errorf("service %q is not running: %w", service, errdefs.ErrFailedPrecondition)
}

// Start starts the existing containers of services (all when empty) and
// of what they depend on, in dependency order, each service once its
// dependencies meet their depends_on conditions, like `docker compose
// start` (pkg/compose/start.go).
func (e *Engine) Start(ctx context.Context, projectName string, p *types.Project, services []string) error {
	e.beginProgress("Running")
	defer e.endProgress()
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	all, err := e.selectRecords(projectName, nil, false)
	if err != nil {
		return err
	}
	for _, s := range services {
		if !hasService(all, s) {
			return fmt.Errorf("service %q has no container to start: %w", s, errdefs.ErrNotFound)
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("project %s has no container to start: %w", projectName, errdefs.ErrNotFound)
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
	for _, s := range order(g) {
		if err := e.waitFor(ctx, lp.Services[s], set, all, false); err != nil {
			return err
		}
		for _, r := range recs {
			if r.Service != s || isRunning(r) {
				continue
			}
			if err := e.startRecord(ctx, r); err != nil {
				return err
			}
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
	for _, r := range recs {
		for _, a := range r.Networks {
			if done[a.Network] {
				continue
			}
			done[a.Network] = true
			n, err := e.nets.Get(a.Network)
			if err != nil {
				return fmt.Errorf("network %s: %w", a.Network, err)
			}
			if _, err := e.nets.Ensure(ctx, a.Network, n.Labels); err != nil {
				return fmt.Errorf("network %s: %w", a.Network, err)
			}
		}
	}
	if len(done) > 0 {
		return e.nets.EnsureDNS(ctx)
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
	e.beginProgress("Running")
	defer e.endProgress()
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer lock.Unlock()
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
	return e.stopProject(ctx, g, recs, timeout)
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
	e.beginProgress("Running")
	defer e.endProgress()
	lock, err := e.lockProject(ctx, projectName)
	if err != nil {
		return err
	}
	defer lock.Unlock()
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

// restartRecords restarts one service's containers in parallel.
func (e *Engine) restartRecords(ctx context.Context, recs []*record.Record, timeout *time.Duration) error {
	errs := make(chan error, len(recs))
	for _, r := range recs {
		go func() {
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
			errs <- nil
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
	e.beginProgress("Running")
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
	for _, r := range recs {
		if !isRunning(r) {
			continue
		}
		e.progress("Container", r.Name, "Killing")
		if err := e.would(func() error { return e.runtime.Kill(ctx, r.Dir, s) }); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", r.Name, err))
			continue
		}
		e.progress("Container", r.Name, "Killed")
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
	return e.eachRunning(projectName, services, "Pausing", "Paused", func(r *record.Record) error {
		return e.runtime.Pause(ctx, r.Dir)
	})
}

// Unpause thaws the paused containers of services.
func (e *Engine) Unpause(ctx context.Context, projectName string, services []string) error {
	return e.eachRunning(projectName, services, "Unpausing", "Unpaused", func(r *record.Record) error {
		if !e.runtime.Paused(r.Dir) {
			return nil
		}
		return e.runtime.Resume(ctx, r.Dir)
	})
}

func (e *Engine) eachRunning(projectName string, services []string, doing, done string, fn func(*record.Record) error) error {
	e.beginProgress("Running")
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
		e.progress("Container", r.Name, doing)
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
	defer lock.Unlock()
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
		return nil
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
	e.beginProgress("Running")
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
	return errors.Join(errs...)
}
