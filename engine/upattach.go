package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// UpAttach are the flags of `up` that decide what happens once the
// containers are started: wait for them (--wait) or stream their logs and
// react to their exits.
type UpAttach struct {
	Wait        bool          // --wait (implies detach)
	WaitTimeout time.Duration // --wait-timeout; 0 = no limit

	AbortOnExit    bool   // --abort-on-container-exit
	AbortOnFailure bool   // --abort-on-container-failure
	ExitCodeFrom   string // --exit-code-from (implies AbortOnExit)

	Attach             []string // --attach: only these services' logs
	NoAttach           []string // --no-attach
	AttachDependencies bool     // --attach-dependencies

	// Watch (--watch) applies the services' develop.watch rules while
	// attached; the watch's lines are marked among the logs.
	Watch bool
	rules []serviceRule // the rules --watch applies (checked before anything is created)

	// since is when `up` began: like Compose, an attached `up` shows what
	// the containers print from then on, not the logs of earlier runs.
	since time.Time
}

// checkUpAttach rejects the flag combinations Docker Compose rejects, with
// its wording, before anything is created.
func checkUpAttach(pl *plan, opts UpOptions) error {
	a := opts.UpAttach
	stop := a.AbortOnExit || (a.ExitCodeFrom != "" && !a.AbortOnFailure)
	invalid := func(msg string) error { return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument) }
	switch {
	case stop && a.AbortOnFailure:
		return invalid("--abort-on-container-failure cannot be combined with --abort-on-container-exit")
	case a.Wait && (stop || a.AttachDependencies || len(a.Attach) > 0):
		return invalid("--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies")
	case (opts.Detach || a.Wait) && (stop || a.AbortOnFailure || a.AttachDependencies || len(a.Attach) > 0 || a.Watch):
		return invalid("--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch")
	case a.Watch && opts.Build == BuildNever:
		return invalid("--no-build and --watch are incompatible")
	case len(a.Attach) > 0 && a.AttachDependencies:
		return invalid("cannot combine --attach and --attach-dependencies")
	case a.WaitTimeout < 0:
		return invalid("--wait-timeout must not be negative")
	}
	in := map[string]bool{}
	for _, s := range pl.graph.Services() {
		in[s] = true
	}
	if a.ExitCodeFrom != "" && !in[a.ExitCodeFrom] {
		return fmt.Errorf("no such service: %s: %w", a.ExitCodeFrom, errdefs.ErrInvalidArgument)
	}
	var unknown []string
	for _, s := range a.Attach {
		if !in[s] {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("cannot attach to services not included in up: %s: %w", strings.Join(unknown, ", "), errdefs.ErrInvalidArgument)
	}
	return nil
}

// afterStart finishes `up` once the containers are started.
func (e *Engine) afterStart(ctx context.Context, p *types.Project, pl *plan, opts UpOptions) error {
	switch {
	case opts.Wait:
		return e.waitUp(ctx, pl, opts.WaitTimeout)
	case opts.Detach:
		return nil
	}
	return e.attach(ctx, p, pl, opts)
}

// attachedServices are the services whose logs an attached `up` prints, as
// Compose picks them: --attach if given, else the services named on the
// command line (all when none), with their dependencies only under
// --attach-dependencies; a service's `attach: false` and --no-attach drop it.
func attachedServices(pl *plan, opts UpOptions) map[string]bool {
	out := map[string]bool{}
	switch {
	case len(opts.Attach) > 0:
		for _, s := range opts.Attach {
			out[s] = true
		}
	default:
		named := map[string]bool{}
		for _, s := range opts.Services {
			named[s] = true
		}
		for _, s := range pl.graph.Services() {
			if len(named) > 0 && !named[s] && !opts.AttachDependencies {
				continue
			}
			if svc, err := pl.project.GetService(s); err == nil && svc.Attach != nil && !*svc.Attach {
				continue
			}
			out[s] = true
		}
	}
	for _, s := range opts.NoAttach {
		delete(out, s)
	}
	return out
}

// upContainers are the containers of the plan's services.
func (e *Engine) upContainers(pl *plan) ([]*record.Record, error) {
	all, err := e.containers(pl.project.Name)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, s := range pl.graph.Services() {
		in[s] = true
	}
	var out []*record.Record
	for _, r := range all {
		if r.Labels[record.LabelOneoff] != "True" && in[r.Service] {
			out = append(out, r)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
