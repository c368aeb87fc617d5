package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/logs"
)

// attach streams the logs of the selected services' containers until they
// have all exited. The first interrupt stops them gracefully, a second kills.
func (e *Engine) attach(ctx context.Context, p *types.Project, pl *plan, opts UpOptions) error {
	wanted := map[string]bool{}
	for _, s := range opts.Services {
		wanted[s] = true
	}
	all, err := e.containers(p.Name)
	if err != nil {
		return err
	}
	var recs []*Record
	for _, r := range all {
		if r.Labels[labelOneoff] != "True" && (len(wanted) == 0 || wanted[r.Service]) {
			recs = append(recs, r)
		}
	}
	printer := logs.NewPrinter(opts.Out, logs.PrinterOptions{Color: !opts.NoColor, Prefix: !opts.NoLogPrefix, Timestamps: opts.Timestamps})
	names := make([]string, 0, len(recs))
	for _, r := range recs {
		names = append(names, r.displayName())
	}
	fmt.Fprintf(opts.Out, "Attaching to %s\n", strings.Join(names, ", "))
	followCtx, stopFollowing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFollowing()
	var wg sync.WaitGroup
	sources := make([]logs.Source, 0, len(recs))
	for _, r := range recs {
		printer.Register(r.displayName())
		r := r
		sources = append(sources, logs.Source{Name: r.displayName(), Path: r.logPath(), Done: func() bool { return !r.running() }})
		wg.Add(1)
		go func() { // report each exit like Compose: "web-1 exited with code 0"
			defer wg.Done()
			st, err := e.runtime.Wait(followCtx, r.dir)
			if err == nil {
				printer.Event(r.displayName(), fmt.Sprintf("%s exited with code %d", r.displayName(), st.ExitCode))
			}
		}()
	}
	done := make(chan error, 1)
	go func() {
		done <- logs.Follow(followCtx, printer, sources, logs.ReadOptions{Tail: -1, Follow: true})
	}()
	select {
	case err := <-done: // every container exited and its logs are drained
		waitAtMost(&wg, 5*time.Second) // let the exit reports print
		stopFollowing()
		wg.Wait()
		return err
	case <-interrupted(ctx, opts.Interrupts):
	}
	fmt.Fprintln(e.err, "Gracefully stopping... (press Ctrl+C again to force)")
	stopped := make(chan struct{})
	go func() {
		select {
		case <-opts.Interrupts: // second Ctrl-C: no more grace
			for _, r := range recs {
				_ = e.runtime.Kill(context.WithoutCancel(ctx), r.dir, syscall.SIGKILL)
			}
		case <-stopped:
		}
	}()
	e.beginProgress("Stopping")
	err = e.stopProject(context.WithoutCancel(ctx), pl.graph, recs, opts.Timeout)
	e.endProgress()
	close(stopped)
	// Every container has exited: let the followers drain the last lines and
	// the exit reports print, but never hang on a container that did not stop.
	select {
	case <-done:
		// The exit reports poll the state on a tick: the logs can end
		// first, and cancelling now would lose "exited with code" lines.
		waitAtMost(&wg, 5*time.Second)
	case <-time.After(5 * time.Second):
	}
	stopFollowing()
	wg.Wait()
	if err != nil {
		return err
	}
	return ErrInterrupted
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

// waitAtMost waits for wg, but no longer than d.
func waitAtMost(wg *sync.WaitGroup, d time.Duration) {
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(d):
	}
}
