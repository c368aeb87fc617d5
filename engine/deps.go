package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// dependencyLogLines is how many of its last log lines a dependency that
// failed its condition shows.
const dependencyLogLines = 10

// optionalDependencyWarnings warn about `required: false` dependencies
// that are not part of the project (undefined or disabled by a profile):
// up goes on without them.
func optionalDependencyWarnings(p *types.Project, services []string) []string {
	var out []string
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			continue
		}
		for _, dep := range sortedNames(svc.DependsOn) {
			if _, ok := p.Services[dep]; !ok && !svc.DependsOn[dep].Required {
				out = append(out, fmt.Sprintf("optional dependency %q of service %q is not available: skipping it", dep, name))
			}
		}
	}
	return out
}

// waitDependencies waits until every dependency of svc in the plan meets
// its depends_on condition. A required dependency that fails stops up with
// Docker Compose's message, after showing its last log lines.
func (e *Engine) waitDependencies(ctx context.Context, pl *plan, svc types.ServiceConfig) error {
	for _, dep := range sortedNames(svc.DependsOn) {
		d := svc.DependsOn[dep]
		if d.Condition == "" || d.Condition == types.ServiceConditionStarted || !pl.inGraph(dep) {
			continue
		}
		if e.dryRun { // nothing runs: report the waits the real run would make
			text := "Healthy"
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				text = "Exited"
			}
			for _, name := range pl.names[dep] {
				e.progress("Container", name, "Waiting")
				e.progress("Container", name, text)
			}
			continue
		}
		recs, err := e.serviceContainers(pl.project.Name, dep)
		if err != nil {
			return err
		}
		for _, r := range recs {
			err := e.waitCondition(ctx, r, d.Condition)
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !d.Required {
				e.warn(r.Name, fmt.Sprintf("optional dependency %q failed: %s", dep, errdefs.Message(err)))
				continue
			}
			return withLastLogs(ctx, r, err)
		}
	}
	return nil
}

func (pl *plan) inGraph(service string) bool {
	for _, s := range pl.graph.Services() {
		if s == service {
			return true
		}
	}
	return false
}

// waitCondition waits until the container r meets cond, reading its state
// each time the supervisor rewrites the state file.
func (e *Engine) waitCondition(ctx context.Context, r *record.Record, cond string) error {
	e.progress("Container", r.Name, "Waiting")
	var done bool
	var err error
	if werr := container.WaitDir(ctx, r.Dir, func() bool {
		done, err = conditionMet(r, cond, recordState(r))
		return done || err != nil
	}); werr != nil {
		return werr
	}
	if err != nil {
		e.progress("Container", r.Name, "Error")
		return err
	}
	text := "Healthy"
	if cond == types.ServiceConditionCompletedSuccessfully {
		text = "Exited"
	}
	e.progress("Container", r.Name, text)
	return nil
}

// conditionMet says whether a container in state st meets a depends_on
// condition, or can never meet it (the error says why, in Docker Compose's
// words).
func conditionMet(r *record.Record, cond string, st container.State) (bool, error) {
	switch cond {
	case types.ServiceConditionHealthy:
		if st.Status == container.StatusExited {
			return false, dependencyFailed(fmt.Errorf("container %s exited (%d)", r.Name, st.ExitCode))
		}
		if st.Status != container.StatusRunning {
			return false, nil
		}
		if st.Health == nil {
			return false, dependencyFailed(fmt.Errorf("container %s has no healthcheck configured", r.Name))
		}
		switch st.Health.Status {
		case supervisor.HealthHealthy:
			return true, nil
		case supervisor.HealthUnhealthy:
			return false, dependencyFailed(fmt.Errorf("container %s is unhealthy", r.Name))
		}
		return false, nil
	case types.ServiceConditionCompletedSuccessfully:
		if st.Status != container.StatusExited {
			return false, nil
		}
		if st.ExitCode != 0 {
			return false, fmt.Errorf("service %q didn't complete successfully: exit %d: %w", r.Service, st.ExitCode, errdefs.ErrFailedPrecondition)
		}
		return true, nil
	}
	return true, nil // service_started: up started it already
}

func dependencyFailed(err error) error {
	return fmt.Errorf("dependency failed to start: %w", errdefs.Mark(errdefs.ErrFailedPrecondition, err))
}

// dependencyError is a dependency that failed its condition, with its
// last log lines, which up shows once the progress display is closed.
type dependencyError struct {
	err  error
	logs []string
}

func (d *dependencyError) Error() string { return d.err.Error() }
func (d *dependencyError) Unwrap() error { return d.err }

// withLastLogs attaches the last log lines of r to err.
func withLastLogs(ctx context.Context, r *record.Record, err error) error {
	de := &dependencyError{err: err}
	_ = logs.Read(ctx, r.LogPath(), logs.ReadOptions{Tail: dependencyLogLines}, func(en logs.Entry) error {
		de.logs = append(de.logs, r.DisplayName()+"  | "+en.Line)
		return nil
	})
	return de
}

// printDependencyLogs shows the log lines a failed dependency left.
func (e *Engine) printDependencyLogs(err error) {
	var de *dependencyError
	if errors.As(err, &de) {
		for _, l := range de.logs {
			fmt.Fprintln(e.err, l)
		}
	}
}
