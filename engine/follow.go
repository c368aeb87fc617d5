package engine

import (
	"context"
	"sync"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// exitEvent is a container's exit seen while following it. final is false
// when its restart policy will start it again.
type exitEvent struct {
	rec   *record.Record
	code  int
	final bool
}

// follower streams the logs of a project's containers and reports their
// exits. It keeps following a container through restarts (same log file)
// and picks up containers created while it runs (a recreated service), so
// an attached `up` or `logs -f` outlives both. It ends once every followed
// container has exited for good and its log is drained.
type follower struct {
	e       *Engine
	project string
	include func(*record.Record) bool // containers to follow
	print   func(*record.Record) bool // of those, whose logs are printed
	printer *logs.Printer
	read    logs.ReadOptions
	events  chan exitEvent // nil: no exit reports

	mu sync.Mutex
	// following holds the containers followed now; ended, when the
	// others were last seen exiting (a later start is followed anew).
	following map[string]bool
	ended     map[string]time.Time
	active    int
	changed   chan struct{} // a follower ended or the containers dir changed
}

func (f *follower) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// run follows until every followed container has exited for good, or ctx ends.
func (f *follower) run(ctx context.Context) error {
	f.following, f.ended, f.changed = map[string]bool{}, map[string]time.Time{}, make(chan struct{}, 1)
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	// New containers show up as new directories (or within a second, the
	// watch's own bound, if their record was not written yet).
	go container.WaitDir(wctx, f.e.records.ContainersDir(), func() bool { f.signal(); return false }) //nolint:errcheck // ends with wctx
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		f.scan(ctx, &wg)
		if f.idle() {
			// Another compose may be recreating the containers right now
			// (it holds the project lock meanwhile): wait for it, then
			// look again before calling it a day.
			if err := f.e.waitProjectUnlocked(ctx, f.project); err != nil {
				return err
			}
			f.scan(ctx, &wg)
			if f.idle() {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.changed:
		}
	}
}

func (f *follower) idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active == 0
}

// scan starts following the containers not followed yet: new ones, and
// those started again (`compose restart`) since their follower ended.
func (f *follower) scan(ctx context.Context, wg *sync.WaitGroup) {
	recs, err := f.e.containers(f.project)
	if err != nil {
		return
	}
	for _, r := range recs {
		f.mu.Lock()
		endedAt, ended := f.ended[r.ID]
		skip := f.following[r.ID] || !f.include(r)
		f.mu.Unlock()
		if skip {
			continue
		}
		st, err := container.ReadState(r.Dir)
		if errdefs.IsNotFound(err) || (ended && (err != nil || !container.Live(st))) {
			// Still being created (follow it once started, at the next
			// scan, or it would look exited), or done and not started again.
			continue
		}
		read := f.read
		if ended { // only what the new run prints
			read.Since, read.Tail = endedAt, -1
		}
		f.mu.Lock()
		f.following[r.ID] = true
		f.active++
		f.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			endedAt := f.follow(ctx, r, read)
			f.mu.Lock()
			delete(f.following, r.ID)
			f.ended[r.ID] = endedAt
			f.active--
			f.mu.Unlock()
			f.signal()
		}()
	}
}

// follow prints one container's log and reports its exits until it has
// exited for good. It returns when that last exit happened.
func (f *follower) follow(ctx context.Context, r *record.Record, read logs.ReadOptions) time.Time {
	var wg sync.WaitGroup
	if f.print == nil || f.print(r) {
		name := r.DisplayName()
		f.printer.Register(name)
		o := read
		o.Done = func() bool { return !isLive(r) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = logs.Read(ctx, r.LogPath(), o, func(e logs.Entry) error { f.printer.Print(name, e); return nil })
		}()
	}
	var last exitEvent
	ok := false
	if f.events != nil {
		last, ok = f.watchExits(ctx, r)
	}
	wg.Wait() // the last exit is reported after the container's last lines
	if ok {
		select {
		case f.events <- last:
		case <-ctx.Done():
		}
	}
	if st := recordState(r); !st.FinishedAt.IsZero() && !container.Live(st) {
		return st.FinishedAt
	}
	return time.Now()
}

// watchExits reports each exit of r its restart policy follows with a
// restart, and returns the last one (ok false if ctx ended first or the
// container was removed).
func (f *follower) watchExits(ctx context.Context, r *record.Record) (last exitEvent, ok bool) {
	for {
		st, err := container.WaitFor(ctx, r.Dir, func(st container.State) bool {
			return !container.Live(st) || st.Status == container.StatusRestarting
		})
		if err != nil {
			return exitEvent{}, false
		}
		ev := exitEvent{rec: r, code: st.ExitCode, final: !container.Live(st)}
		if ev.final {
			return ev, true
		}
		select {
		case f.events <- ev:
		case <-ctx.Done():
			return exitEvent{}, false
		}
		if _, err := container.WaitFor(ctx, r.Dir, func(st container.State) bool {
			return st.Status != container.StatusRestarting
		}); err != nil {
			return exitEvent{}, false
		}
	}
}

// waitProjectUnlocked returns once no other compose holds the project's
// lock (it is changing the project), or with ctx's error.
func (e *Engine) waitProjectUnlocked(ctx context.Context, project string) error {
	lock, err := e.lockProject(ctx, project)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return nil
	}
	return lock.Unlock()
}
