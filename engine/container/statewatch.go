package container

import (
	"context"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/internal/inotify"
)

// staleCheck bounds each sleep between state reads: a supervisor killed
// before it recorded the exit writes nothing, and only a fresh ReadState
// notices it is gone.
const staleCheck = time.Second

// WaitFor returns the container's state as soon as done accepts it. It
// reads the state again on each write of the state file (the supervisor
// replaces it by rename; inotify on the container's directory wakes us),
// so callers see every transition at once instead of on a polling tick.
// Where inotify is unavailable it falls back to polling.
func WaitFor(ctx context.Context, dir string, done func(State) bool) (State, error) {
	var st State
	var err error
	werr := WaitDir(ctx, dir, func() bool {
		st, err = ReadState(dir)
		return err != nil || done(st)
	})
	if err == nil {
		err = werr
	}
	return st, err
}

// WaitDir calls check now and after each change of an entry in dir (and at
// least every second) until it returns true, or until ctx ends. Writes in
// place, such as the log file's, are no change: the files a check reads
// are replaced by rename. Where inotify is unavailable it polls.
func WaitDir(ctx context.Context, dir string, check func() bool) error {
	w, _ := inotify.Watch(dir) // nil: poll
	// Closing an inotify instance waits for the kernel (an RCU grace
	// period, often milliseconds): do it off the caller's path.
	defer func() {
		if w != nil {
			go w.Close()
		}
	}()
	for !check() {
		if w == nil {
			if err := sleep(ctx, pollInterval); err != nil {
				return err
			}
			continue
		}
		if _, err := w.Wait(ctx, staleCheck, replaced); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			go w.Close() // a broken instance: poll from now on
			w = nil
		}
	}
	return nil
}

// replaced accepts the changes that can change what is read from a
// container's directory: entries added, renamed or removed.
func replaced(ev inotify.Event) bool { return ev.Has(inotify.Create | inotify.Remove | inotify.Rename) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Live reports whether the container runs, is being started, or waits
// for its restart policy to start it again.
func Live(st State) bool { return live(st) }

// The healthcheck statuses (State.Health.Status).
const (
	HealthStarting  = supervisor.HealthStarting
	HealthHealthy   = supervisor.HealthHealthy
	HealthUnhealthy = supervisor.HealthUnhealthy
)
