package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// attach streams the logs of the attached services' containers until they
// have all exited, reporting each exit. The first interrupt stops the
// project's containers gracefully, a second kills them. With
// --abort-on-container-exit (or -failure) the first (failed) exit stops
// them all and its code becomes up's exit code.
func (e *Engine) attach(ctx context.Context, p *types.Project, pl *plan, opts UpOptions) error {
	a := &attachSession{e: e, ctx: ctx, pl: pl, opts: opts, attached: attachedServices(pl, opts)}
	a.printer = logs.NewPrinter(opts.Out, logs.PrinterOptions{Color: !opts.NoColor, Prefix: !opts.NoLogPrefix, Timestamps: opts.Timestamps, Stderr: opts.Err})
	if opts.Watch { // as in Compose, "Watch enabled" comes before "Attaching to"
		stopWatch, err := e.startWatch(ctx, pl.project, opts, a.printer)
		if err != nil {
			return err
		}
		defer stopWatch()
	}
	if err := a.announce(); err != nil {
		return err
	}
	var stopFollowing context.CancelFunc
	a.followCtx, stopFollowing = context.WithCancel(context.WithoutCancel(ctx))
	defer stopFollowing()
	a.stopFollowing = stopFollowing
	exits := make(chan status.Exit)
	done := make(chan error, 1)
	go func() { done <- e.reporter().Follow(a.followCtx, a.followOptions(p.Name, exits)) }()
	return a.run(exits, done)
}

// attachSession is an attached `up` once its containers started: it
// prints their logs, reacts to their exits (--abort-on-container-exit...)
// and to Ctrl-C, and decides up's outcome.
type attachSession struct {
	e        *Engine
	ctx      context.Context
	pl       *plan
	opts     UpOptions
	attached map[string]bool // services whose logs are printed
	printer  *logs.Printer

	followCtx     context.Context
	stopFollowing context.CancelFunc
	stopped       chan struct{} // closed once an abort or Ctrl-C stopped the project
	stopErr       error
}

// announce prints "Attaching to ..." and what hooks printed while the
// containers started.
func (a *attachSession) announce() error {
	recs, err := a.e.upContainers(a.pl)
	if err != nil {
		return err
	}
	var names []string
	for _, r := range recs {
		if a.attached[r.Service] {
			names = append(names, r.DisplayName())
			a.printer.Register(r.DisplayName())
		}
	}
	fmt.Fprintf(a.opts.Out, "Attaching to %s\n", strings.Join(names, ", "))
	for _, l := range a.e.takeHookLines() {
		a.printer.Print(l.source, logs.Entry{Stream: "stdout", Time: time.Now(), Line: l.line})
	}
	return nil
}

// followOptions follow the monitored containers, whose exits end `up` (the
// --exit-code-from service is watched even if not monitored), and print the
// attached ones.
func (a *attachSession) followOptions(project string, exits chan status.Exit) status.FollowOptions {
	monitored := monitoredServices(a.pl, a.opts, a.attached)
	watched := func(r *record.Record) bool {
		return r.Labels[record.LabelOneoff] != "True" && (monitored[r.Service] || r.Service == a.opts.ExitCodeFrom)
	}
	printed := func(r *record.Record) bool { return r.Labels[record.LabelOneoff] != "True" && a.attached[r.Service] }
	return status.FollowOptions{
		Project: project, Include: func(r *record.Record) bool { return watched(r) || printed(r) }, Wait: watched,
		Print:   printed,
		Printer: a.printer, Read: logs.ReadOptions{Tail: -1, Follow: true, Since: a.opts.since}, Exits: exits,
	}
}

// run reacts to exits and interrupts until the follower ends, then says
// how `up` ends: a stop's error, Ctrl-C (130), or the exit code asked for.
func (a *attachSession) run(exits <-chan status.Exit, done <-chan error) error {
	opts := a.opts
	exitCodeFrom := opts.ExitCodeFrom
	cascade := opts.AbortOnExit || opts.AbortOnFailure || exitCodeFrom != ""
	code := 0
	interrupt := interrupted(a.ctx, opts.Interrupts)
	aborting, userStop := false, false
	var err error
	for {
		select {
		case ev := <-exits:
			name := ev.Record.DisplayName()
			if a.attached[ev.Record.Service] {
				a.printer.Event(name, fmt.Sprintf("%s exited with code %d", name, ev.Code))
			}
			if cascade && !aborting && !userStop && (!opts.AbortOnFailure || ev.Code != 0) {
				aborting = true
				fmt.Fprintln(opts.Out, "Aborting on container exit...")
				if exitCodeFrom == "" {
					exitCodeFrom = ev.Record.Service
				}
				a.stopAll()
			}
			if cascade && ev.Record.Service == exitCodeFrom && (ev.Final || !aborting) {
				code = ev.Code
			}
			continue
		case <-interrupt:
			interrupt = nil
			if !aborting {
				userStop = true
				fmt.Fprintln(a.e.err, "Gracefully stopping... (press Ctrl+C again to force)")
				a.stopAll()
			}
			continue
		case err = <-done:
		}
		break
	}
	if a.stopped != nil {
		<-a.stopped
	}
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		return err
	case a.stopErr != nil:
		return a.stopErr
	case userStop:
		return errdefs.ErrCanceled
	case code != 0:
		return errdefs.Exit(code)
	}
	return nil
}

// stopAll stops the services `up` named (never the dependencies it found
// running, as Compose does), lets their logs drain, and kills them on a
// second Ctrl-C.
func (a *attachSession) stopAll() {
	e, ctx, pl, opts := a.e, a.ctx, a.pl, a.opts
	a.stopped = make(chan struct{})
	stopped := a.stopped
	go func() { // let the logs drain, but never hang on a container that did not stop
		<-stopped
		select {
		case <-time.After(5 * time.Second):
			a.stopFollowing()
		case <-a.followCtx.Done():
		}
	}()
	go func() {
		defer close(stopped)
		e.beginProgress("")                // outside up's operation: lines, as Compose prints its stop
		current, err := e.upContainers(pl) // a recreated container is stopped too
		current = ofNamed(current, opts.Services)
		if err == nil {
			err = e.stopProject(context.WithoutCancel(ctx), pl.graph, current, opts.Timeout)
		}
		e.endProgress()
		a.stopErr = err
	}()
	go func() { // a Ctrl-C while stopping: no more grace
		select {
		case <-opts.Interrupts:
			current, _ := e.upContainers(pl)
			for _, r := range ofNamed(current, opts.Services) {
				if isLive(r) {
					e.progress("Container", r.Name, "Killing")
					_ = e.runtime.Kill(context.WithoutCancel(ctx), r.Dir, syscall.SIGKILL)
				}
			}
		case <-stopped:
		}
	}()
}

// interrupted fires on the first interrupt. Without an interrupt channel it
// fires when ctx ends. With one, ctx is not watched: the same Ctrl-C also
// cancels ctx, and leaving its signal in the channel would read as a second one.
func interrupted(ctx context.Context, sigs <-chan os.Signal) <-chan struct{} {
	if sigs == nil {
		return ctx.Done()
	}
	ch := make(chan struct{})
	go func() {
		<-sigs
		close(ch)
	}()
	return ch
}

// monitoredServices are the services whose exits end an attached `up`, as
// Docker Compose's monitor picks them (pkg/compose/up.go): the services
// named on the command line, else the attached ones, else all of them.
// Dependencies attached with --attach-dependencies print their logs but
// are not waited for.
func monitoredServices(pl *plan, opts UpOptions, attached map[string]bool) map[string]bool {
	out := map[string]bool{}
	switch {
	case len(opts.Services) > 0:
		for _, s := range opts.Services {
			out[s] = true
		}
	case len(attached) > 0:
		return attached
	default:
		for _, s := range pl.graph.Services() {
			out[s] = true
		}
	}
	return out
}

// ofNamed keeps the records of the services named on the command line
// (all when none): a Ctrl-C or an abort stops only those, as Docker
// Compose's stopApplication does (Create.Services); the dependencies up
// started or found running are left alone.
func ofNamed(recs []*record.Record, named []string) []*record.Record {
	if len(named) == 0 {
		return recs
	}
	return ofServices(recs, named)
}
