// Package status answers the commands that report on a project's
// containers (ps, ls, images, top, stats, events, logs) from their records
// and what the runtime knows of them. Each command returns typed rows;
// one formatter (Write) prints any of them as a table, JSON or a Go
// template, the way the docker CLI does. Following logs (`logs -f`, an
// attached `up`) writes as it goes.
//
// The package never touches the runtime itself: the engine hands it the
// records and a Runtime, so its reports are tested without root.
package status

import (
	"context"
	"slices"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
)

// Records lists the containers' records; *record.Store is one.
type Records interface {
	// List returns the records of a project's containers ("" = every
	// project's), by service then number.
	List(project string) ([]*record.Record, error)
	// ContainersDir holds one directory per container (watched by events
	// and followers for containers coming and going).
	ContainersDir() string
}

// Runtime is what the reports ask of the container runtime, about the
// container whose directory is dir.
type Runtime interface {
	// State reads the container's state, repairing a stale one (a dead
	// supervisor); errdefs.ErrNotFound before it has one.
	State(dir string) (supervisor.State, error)
	// Paused reports whether the running container (its init is pid) has
	// its processes frozen; cheap enough to ask of every container.
	Paused(dir string, pid int) bool
	// WaitFor returns the state once done accepts it, woken by each change.
	WaitFor(ctx context.Context, dir string, done func(supervisor.State) bool) (supervisor.State, error)
	// WaitDir calls check now and after each entry added, renamed or
	// removed in dir (and at least every second) until it returns true.
	WaitDir(ctx context.Context, dir string, check func() bool) error
	// Stats samples the running container's resource usage.
	Stats(ctx context.Context, dir string) (Sample, error)
	// Processes lists the running container's processes by host pid.
	Processes(ctx context.Context, dir string) ([]Process, error)
}

// Reporter answers the status commands. Each command uses the parts it
// needs: tests fill in only those.
type Reporter struct {
	Records Records
	Runtime Runtime
	Images  Images // `compose images`
	// WaitUnlocked returns once no other compose is changing the project
	// (holding its lock): a follower waits for that before it ends.
	WaitUnlocked func(ctx context.Context, project string) error
	// Now is the clock ages are told by ("Up 5 seconds"); nil: time.Now.
	Now func() time.Time
}

func (r *Reporter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// list returns the project's containers of services (all when empty).
func (r *Reporter) list(project string, services []string) ([]*record.Record, error) {
	recs, err := r.Records.List(project)
	if err != nil || len(services) == 0 {
		return recs, err
	}
	return slices.DeleteFunc(recs, func(rec *record.Record) bool { return !slices.Contains(services, rec.Service) }), nil
}

// state is a container's state; one not readable reads as created.
func (r *Reporter) state(rec *record.Record) supervisor.State {
	st, err := r.Runtime.State(rec.Dir)
	if err != nil {
		return supervisor.State{Status: supervisor.StatusCreated}
	}
	return st
}

// statusPaused is the status ps shows for a running container whose
// processes are frozen (not a state the supervisor records).
const statusPaused supervisor.Status = "paused"

// shownState is the state ps and ls show: paused when frozen.
func (r *Reporter) shownState(rec *record.Record) supervisor.State {
	st := r.state(rec)
	if st.Status == supervisor.StatusRunning && r.Runtime.Paused(rec.Dir, st.Pid) {
		st.Status = statusPaused
	}
	return st
}

func (r *Reporter) running(rec *record.Record) bool {
	return r.state(rec).Status == supervisor.StatusRunning
}

func (r *Reporter) live(rec *record.Record) bool { return r.state(rec).Live() }
