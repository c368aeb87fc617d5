package status

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// FollowOptions say which containers Follow follows and where their logs go.
type FollowOptions struct {
	Project string
	Include func(*record.Record) bool // the containers to follow
	Print   func(*record.Record) bool // of those, whose logs are printed; nil: all
	// Wait, of the followed containers, those whose exits end Follow (nil:
	// all); the others are followed while they last.
	Wait    func(*record.Record) bool
	Printer *logs.Printer
	Read    logs.ReadOptions
	// Exits, when not nil, receives each exit of a container Follow waits for.
	Exits chan<- Exit
}

// Exit is a container's exit seen while following it.
type Exit struct {
	Record *record.Record
	Code   int
	Final  bool // false when its restart policy starts it again
}

// Follow streams the logs of a project's containers and reports their
// exits. It keeps following a container through restarts (same log file)
// and picks up containers created while it runs (a recreated service), so
// an attached `up` or `logs -f` outlives both. It returns once every
// followed container has exited for good and its log is drained, or with
// ctx's error.
func (r *Reporter) Follow(ctx context.Context, opts FollowOptions) error {
	f := &follower{r: r, opts: opts, following: map[string]bool{}, ended: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	return f.run(ctx)
}

// follower is one Follow's bookkeeping.
type follower struct {
	r    *Reporter
	opts FollowOptions

	mu sync.Mutex
	// following holds the containers followed now; ended, when the
	// others were last seen exiting (a later start is followed anew).
	following map[string]bool
	ended     map[string]time.Time
	active    int           // followers running of containers Follow waits for
	finishing atomic.Bool   // Follow is ending: the others stop at the end of their logs
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
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	// New containers show up as new directories (or within a second, the
	// watch's own bound, if their record was not written yet).
	go f.r.Runtime.WaitDir(wctx, f.r.Records.ContainersDir(), func() bool { f.signal(); return false }) //nolint:errcheck // ends with wctx
	var wg sync.WaitGroup
	defer wg.Wait()
	// The containers Follow does not wait for are left when it ends, once
	// what their logs hold by then is printed.
	defer f.finishing.Store(true)
	for {
		f.scan(ctx, &wg)
		if f.idle() {
			// Another compose may be recreating the containers right now
			// (it holds the project lock meanwhile): wait for it, then
			// look again before calling it a day.
			if f.r.WaitUnlocked != nil {
				if err := f.r.WaitUnlocked(ctx, f.opts.Project); err != nil {
					return err
				}
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
	recs, err := f.r.Records.List(f.opts.Project)
	if err != nil {
		return
	}
	for _, rec := range recs {
		f.mu.Lock()
		endedAt, ended := f.ended[rec.ID]
		skip := f.following[rec.ID] || !f.opts.Include(rec)
		f.mu.Unlock()
		if skip {
			continue
		}
		st, err := f.r.Runtime.State(rec.Dir)
		if errdefs.IsNotFound(err) || (ended && (err != nil || !st.Live())) {
			// Still being created (follow it once started, at the next
			// scan, or it would look exited), or done and not started again.
			continue
		}
		read := f.opts.Read
		if ended { // only what the new run prints
			read.Since, read.Tail = endedAt, -1
		}
		waited := f.opts.Wait == nil || f.opts.Wait(rec)
		f.mu.Lock()
		f.following[rec.ID] = true
		if waited {
			f.active++
		}
		f.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			endedAt := f.follow(ctx, rec, read, waited)
			f.mu.Lock()
			delete(f.following, rec.ID)
			f.ended[rec.ID] = endedAt
			if waited {
				f.active--
			}
			f.mu.Unlock()
			f.signal()
		}()
	}
}

// follow prints one container's log and reports its exits until it has
// exited for good. It returns when that last exit happened.
func (f *follower) follow(ctx context.Context, rec *record.Record, read logs.ReadOptions, waited bool) time.Time {
	var wg sync.WaitGroup
	if f.opts.Print == nil || f.opts.Print(rec) {
		name := rec.DisplayName()
		f.opts.Printer.Register(name)
		o := read
		o.Done = func() bool { return !f.r.live(rec) || !waited && f.finishing.Load() }
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = logs.Read(ctx, rec.LogPath(), o, func(e logs.Entry) error { f.opts.Printer.Print(name, e); return nil })
		}()
	}
	var last Exit
	ok := false
	if f.opts.Exits != nil && waited {
		last, ok = f.watchExits(ctx, rec)
	}
	wg.Wait() // the last exit is reported after the container's last lines
	if ok {
		select {
		case f.opts.Exits <- last:
		case <-ctx.Done():
		}
	}
	if st := f.r.state(rec); !st.FinishedAt.IsZero() && !st.Live() {
		return st.FinishedAt
	}
	return time.Now()
}

// watchExits reports each exit of rec its restart policy follows with a
// restart, and returns the last one (ok false if ctx ended first or the
// container was removed).
func (f *follower) watchExits(ctx context.Context, rec *record.Record) (last Exit, ok bool) {
	for {
		st, err := f.r.Runtime.WaitFor(ctx, rec.Dir, func(st supervisor.State) bool {
			return !st.Live() || st.Status == supervisor.StatusRestarting
		})
		if err != nil {
			return Exit{}, false
		}
		ev := Exit{Record: rec, Code: st.ExitCode, Final: !st.Live()}
		if ev.Final {
			return ev, true
		}
		select {
		case f.opts.Exits <- ev:
		case <-ctx.Done():
			return Exit{}, false
		}
		if _, err := f.r.Runtime.WaitFor(ctx, rec.Dir, func(st supervisor.State) bool {
			return st.Status != supervisor.StatusRestarting
		}); err != nil {
			return Exit{}, false
		}
	}
}
