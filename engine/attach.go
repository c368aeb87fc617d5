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
	attached := attachedServices(pl, opts)
	recs, err := e.upContainers(pl)
	if err != nil {
		return err
	}
	monitored := monitoredServices(pl, opts, attached)
	// Exits of the monitored containers end `up`; the --exit-code-from
	// service is watched even if not monitored.
	watched := func(r *record.Record) bool {
		return r.Labels[record.LabelOneoff] != "True" && (monitored[r.Service] || r.Service == opts.ExitCodeFrom)
	}
	printed := func(r *record.Record) bool { return r.Labels[record.LabelOneoff] != "True" && attached[r.Service] }
	printer := logs.NewPrinter(opts.Out, logs.PrinterOptions{Color: !opts.NoColor, Prefix: !opts.NoLogPrefix, Timestamps: opts.Timestamps, Stderr: opts.Err})
	if opts.Watch { // as in Compose, "Watch enabled" comes before "Attaching to"
		stopWatch, err := e.startWatch(ctx, pl.project, opts, printer)
		if err != nil {
			return err
		}
		defer stopWatch()
	}
	var names []string
	for _, r := range recs {
		if attached[r.Service] {
			names = append(names, r.DisplayName())
			printer.Register(r.DisplayName())
		}
	}
	fmt.Fprintf(opts.Out, "Attaching to %s\n", strings.Join(names, ", "))
	for _, l := range e.takeHookLines() { // what hooks printed while starting
		printer.Print(l.source, logs.Entry{Stream: "stdout", Time: time.Now(), Line: l.line})
	}
	followCtx, stopFollowing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFollowing()
	exits := make(chan status.Exit)
	follow := status.FollowOptions{
		Project: p.Name, Include: func(r *record.Record) bool { return watched(r) || printed(r) }, Wait: watched,
		Print:   printed,
		Printer: printer, Read: logs.ReadOptions{Tail: -1, Follow: true, Since: opts.since}, Exits: exits,
	}
	done := make(chan error, 1)
	go func() { done <- e.reporter().Follow(followCtx, follow) }()

	exitCodeFrom := opts.ExitCodeFrom
	cascade := opts.AbortOnExit || opts.AbortOnFailure || exitCodeFrom != ""
	code := 0
	var stopErr error
	var stopped chan struct{} // closed once an abort or Ctrl-C stopped the project
	var interrupt <-chan struct{} = interrupted(ctx, opts.Interrupts)
	stopAll := func() {
		stopped = make(chan struct{})
		go func() { // let the logs drain, but never hang on a container that did not stop
			<-stopped
			select {
			case <-time.After(5 * time.Second):
				stopFollowing()
			case <-followCtx.Done():
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
			stopErr = err
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
	aborting, userStop := false, false
	for {
		select {
		case ev := <-exits:
			name := ev.Record.DisplayName()
			if attached[ev.Record.Service] {
				printer.Event(name, fmt.Sprintf("%s exited with code %d", name, ev.Code))
			}
			if cascade && !aborting && !userStop && (!opts.AbortOnFailure || ev.Code != 0) {
				aborting = true
				fmt.Fprintln(opts.Out, "Aborting on container exit...")
				if exitCodeFrom == "" {
					exitCodeFrom = ev.Record.Service
				}
				stopAll()
			}
			if cascade && ev.Record.Service == exitCodeFrom && (ev.Final || !aborting) {
				code = ev.Code
			}
			continue
		case <-interrupt:
			interrupt = nil
			if !aborting {
				userStop = true
				fmt.Fprintln(e.err, "Gracefully stopping... (press Ctrl+C again to force)")
				stopAll()
			}
			continue
		case err = <-done:
		}
		break
	}
	if stopped != nil {
		<-stopped
	}
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		return err
	case stopErr != nil:
		return stopErr
	case userStop:
		return errdefs.ErrCanceled
	case code != 0:
		return errdefs.Exit(code)
	}
	return nil
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
