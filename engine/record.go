package engine

import (
	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
)

// Version is what `compose version` reports and the version label carries.
const Version = "0.1.0"

// containers lists the records of a project ("" = all), ordered by service
// then number.
func (e *Engine) containers(project string) ([]*record.Record, error) {
	return e.records.List(project)
}

// recordState reads the runtime state of a container (repairing stale state).
func recordState(r *record.Record) container.State {
	st, err := container.ReadState(r.Dir)
	if err != nil {
		return container.State{Status: container.Status("created")}
	}
	return st
}

func isRunning(r *record.Record) bool { return recordState(r).Status == "running" }

// isLive reports whether the container runs or will run again (being
// started, or waiting out its restart policy's back-off).
func isLive(r *record.Record) bool { return container.Live(recordState(r)) }
