package engine

import (
	"context"
	"errors"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
)

// DownOptions are the flags of `compose down`.
type DownOptions struct {
	Timeout *time.Duration // -t: grace period before SIGKILL
	Volumes bool           // -v: also remove named volumes (not external) and anonymous volumes
}

// Down stops and removes the project's containers (dependents first) and the
// networks it created. p may be nil when only the project name is known; then
// containers are stopped without ordering.
func (e *Engine) Down(ctx context.Context, name string, p *types.Project, opts DownOptions) error {
	if e.dryRun {
		return e.dryRunDown(name, p, opts)
	}
	lock, err := e.lockProject(name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	e.beginProgress("Running")
	defer e.endProgress()
	recs, err := e.containers(name)
	if err != nil {
		return err
	}
	var g *graph.Graph
	if p != nil {
		if g, err = graph.New(p); err != nil {
			return err
		}
	}
	if err := e.stopProject(ctx, g, recs, opts.Timeout); err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		e.progress("Container", r.Name, "Removing")
		if err := e.remove(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		e.progress("Container", r.Name, "Removed")
	}
	nets, err := e.nets.List()
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Labels[labelProject] != name {
			continue
		}
		e.progress("Network", n.Name, "Removing")
		if err := e.nets.Remove(ctx, n.Name); err != nil {
			if errors.Is(err, errdefs.ErrConflict) { // another project's container still uses it
				e.progress("Network", n.Name, "Resource is still in use")
				continue
			}
			errs = append(errs, err)
			continue
		}
		e.progress("Network", n.Name, "Removed")
	}
	if opts.Volumes {
		errs = append(errs, e.downVolumes(name, p, recs))
	}
	return errors.Join(errs...)
}

// stopProject stops containers, dependents before their dependencies when the
// graph is known; containers of services outside the graph stop last, in parallel.
func (e *Engine) stopProject(ctx context.Context, g *graph.Graph, recs []*Record, timeout *time.Duration) error {
	byService := map[string][]*Record{}
	for _, r := range recs {
		byService[r.Service] = append(byService[r.Service], r)
	}
	stopAll := func(ctx context.Context, rs []*Record) error {
		errs := make(chan error, len(rs))
		for _, r := range rs {
			go func() { errs <- e.stopRecord(ctx, r, recordTimeout(r, timeout)) }()
		}
		var all []error
		for range rs {
			all = append(all, <-errs)
		}
		return errors.Join(all...)
	}
	if g != nil {
		err := g.Walk(ctx, graph.Down, 0, func(ctx context.Context, service string) error {
			return stopAll(ctx, byService[service]) // concurrent reads only
		})
		if err != nil {
			return err
		}
		for _, s := range g.Services() {
			delete(byService, s)
		}
	}
	var rest []*Record
	for _, rs := range byService {
		rest = append(rest, rs...)
	}
	return stopAll(ctx, rest)
}

func recordTimeout(r *Record, override *time.Duration) time.Duration {
	if override != nil {
		return *override
	}
	if r.StopTimeout != nil {
		return *r.StopTimeout
	}
	return defaultStopTimeout
}
