package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

// waitUp is `up --wait`: it returns once every container of the plan runs
// (and is healthy where it has a healthcheck). A one-shot container that
// exited 0 counts as done when another service waits for it with
// service_completed_successfully. The first container that exits or turns
// unhealthy fails it, naming the container, as does the timeout.
func (e *Engine) waitUp(ctx context.Context, pl *plan, timeout time.Duration) error {
	recs, err := e.upContainers(pl)
	if err != nil {
		return err
	}
	return e.waitRecords(ctx, recs, completingServices(pl.project), timeout)
}

// WaitStarted is `start --wait`: it waits as `up --wait` does for the
// containers of services (all when none) to run, and be healthy where they
// have a healthcheck. p may be nil (only the project's name is known).
func (e *Engine) WaitStarted(ctx context.Context, projectName string, p *types.Project, services []string, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("--wait-timeout must not be negative: %w", errdefs.ErrInvalidArgument)
	}
	if e.dryRun { // nothing was started
		return nil
	}
	recs, err := e.selectRecords(projectName, services, false)
	if err != nil {
		return err
	}
	completes := map[string]bool{}
	if p != nil {
		completes = completingServices(p)
	}
	return e.waitRecords(ctx, recs, completes, timeout)
}

// waitRecords waits until every container of recs is ready (see waitUp).
func (e *Engine) waitRecords(ctx context.Context, recs []*record.Record, completes map[string]bool, timeout time.Duration) error {
	wctx, cancel := context.WithCancel(ctx)
	if timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	e.beginProgress("up")
	defer e.endProgress()
	results := make(chan error, len(recs))
	for _, r := range recs {
		e.progress("Container", r.Name, "Waiting")
		go func() { results <- e.waitReady(wctx, r, completes[r.Service]) }()
	}
	var first error
	for range recs {
		err := <-results
		if err != nil && first == nil {
			first = err
			cancel() // one failure decides; stop watching the others
		}
	}
	if first != nil && errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("application not healthy after %s: %w", timeout, first)
	}
	return first
}

// waitReady waits until r runs and is healthy (or, with mayComplete, has
// exited 0), reporting each outcome on the progress display.
func (e *Engine) waitReady(ctx context.Context, r *record.Record, mayComplete bool) error {
	var verdict error
	st, err := container.WaitFor(ctx, r.Dir, func(st container.State) bool {
		switch {
		case st.Status == container.StatusRunning && (st.Health == nil || st.Health.Status == container.HealthHealthy):
			return true
		case st.Status == container.StatusRunning && st.Health.Status == container.HealthUnhealthy:
			verdict = fmt.Errorf("container %s is unhealthy: %w", r.Name, errdefs.ErrFailedPrecondition)
			return true
		case !container.Live(st):
			if !(mayComplete && st.ExitCode == 0) {
				verdict = fmt.Errorf("container %s exited (%d): %w", r.Name, st.ExitCode, errdefs.ErrFailedPrecondition)
			}
			return true
		}
		return false // starting, restarting, health still starting
	})
	switch {
	case err != nil:
		if errors.Is(err, context.DeadlineExceeded) {
			e.event(progress.Event{ID: "Container " + r.Name, Text: "Error", Status: progress.Error})
			return fmt.Errorf("container %s is %s: %w", r.Name, notReady(st), errdefs.ErrFailedPrecondition)
		}
		return err
	case verdict != nil:
		e.event(progress.Event{ID: "Container " + r.Name, Text: "Error", Status: progress.Error})
		return verdict
	case !container.Live(st):
		e.progress("Container", r.Name, "Exited")
	default:
		e.progress("Container", r.Name, "Healthy")
	}
	return nil
}

// notReady says why a container is not ready yet: "starting" (health),
// "restarting", "created".
func notReady(st container.State) string {
	if st.Status == container.StatusRunning && st.Health != nil {
		return "still " + st.Health.Status
	}
	return string(st.Status)
}

// completingServices are the services some other service waits on with
// condition service_completed_successfully: they may exit 0 and be done.
func completingServices(p *types.Project) map[string]bool {
	out := map[string]bool{}
	for _, svc := range p.Services {
		for dep, d := range svc.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				out[dep] = true
			}
		}
	}
	return out
}
