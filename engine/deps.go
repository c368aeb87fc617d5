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
	"github.com/composer-dev/compose/progress"
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
				e.skipOptional(r, dep, err)
				continue
			}
			e.event(progress.Event{ID: "Container " + r.Name, Text: "Error", Status: progress.Error, Details: failedDetails(dep, err)})
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
			return false, &incomplete{service: r.Service, code: st.ExitCode}
		}
		return true, nil
	}
	return true, nil // service_started: up started it already
}

func dependencyFailed(err error) error {
	return &startFailure{reason: errdefs.Mark(errdefs.ErrFailedPrecondition, err)}
}

// startFailure is a dependency that will never be healthy, in Docker
// Compose's words (convergence.go, waitDependencies): "dependency failed
// to start: container x exited (1)".
type startFailure struct{ reason error }

func (s *startFailure) Error() string { return "dependency failed to start: " + s.reason.Error() }
func (s *startFailure) Unwrap() error { return s.reason }

// incomplete is a one-shot dependency that exited non-zero, in Docker
// Compose's words: `service "db" didn't complete successfully: exit 3`.
type incomplete struct {
	service string
	code    int
}

func (i *incomplete) Error() string { return "service " + i.suffix() }
func (i *incomplete) Unwrap() error { return errdefs.ErrFailedPrecondition }

func (i *incomplete) suffix() string {
	return fmt.Sprintf("%q didn't complete successfully: exit %d", i.service, i.code)
}

// failedDetails is what the progress line of a dependency that failed a
// required condition says, as Docker Compose's does.
func failedDetails(dep string, err error) string {
	var sf *startFailure
	if errors.As(err, &sf) {
		return fmt.Sprintf("dependency %s failed to start", dep)
	}
	return errdefs.Message(err)
}

// skipOptional reports a `required: false` dependency that failed, as
// Docker Compose does: its container's line says it was skipped and a
// warning gives the reason; up goes on.
func (e *Engine) skipOptional(r *record.Record, dep string, err error) {
	short := "optional dependency " + errdefs.Message(err)
	long := short
	var sf *startFailure
	var inc *incomplete
	switch {
	case errors.As(err, &sf):
		short = fmt.Sprintf("optional dependency %q failed to start", dep)
		long = short + ": " + errdefs.Message(sf.reason)
	case errors.As(err, &inc):
		short = "optional dependency " + inc.suffix()
		long = short
	}
	e.event(progress.Event{ID: "Container " + r.Name, Text: "Skipped: " + short, Status: progress.Warning})
	fmt.Fprintf(e.err, "WARN[0000] %s\n", long)
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
