package engine

import (
	"context"
	"io"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/logs"
)

// LogsOptions are the flags of `compose logs`.
type LogsOptions struct {
	Services    []string
	Follow      bool
	Tail        int // -1 = all
	Timestamps  bool
	NoColor     bool
	NoLogPrefix bool
}

// Logs prints the aggregated logs of the project's containers.
func (e *Engine) Logs(ctx context.Context, projectName string, opts LogsOptions, out io.Writer) error {
	recs, err := e.containers(projectName)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, s := range opts.Services {
		wanted[s] = true
	}
	printer := logs.NewPrinter(out, logs.PrinterOptions{Color: !opts.NoColor, Prefix: !opts.NoLogPrefix, Timestamps: opts.Timestamps})
	if opts.Follow { // through restarts and recreations (follow.go)
		for _, r := range recs {
			if len(wanted) == 0 || wanted[r.Service] {
				printer.Register(r.DisplayName())
			}
		}
		f := &follower{e: e, project: projectName, printer: printer, read: logs.ReadOptions{Tail: opts.Tail, Follow: true},
			include: func(r *record.Record) bool { return len(wanted) == 0 || wanted[r.Service] }}
		if err := f.run(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	var sources []logs.Source
	for _, r := range recs {
		if len(wanted) > 0 && !wanted[r.Service] {
			continue
		}
		printer.Register(r.DisplayName())
		sources = append(sources, logs.Source{Name: r.DisplayName(), Path: r.LogPath(), Done: func() bool { return !isRunning(r) }})
	}
	err = logs.Follow(ctx, printer, sources, logs.ReadOptions{Tail: opts.Tail, Follow: opts.Follow})
	if ctx.Err() != nil { // Ctrl-C ends `logs -f` normally
		return nil
	}
	return err
}
