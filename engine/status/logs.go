package status

import (
	"context"
	"io"
	"slices"

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
	Out         io.Writer // where the lines go
	Err         io.Writer // where the containers' stderr lines go (Compose: formatter/logs.go, Err)
}

// Logs prints the aggregated logs of the project's containers of services
// (all when empty). With Follow it keeps printing, through restarts and
// recreations, until every container has exited for good or ctx ends.
func (r *Reporter) Logs(ctx context.Context, project string, opts LogsOptions) error {
	recs, err := r.list(project, opts.Services)
	if err != nil {
		return err
	}
	printer := logs.NewPrinter(opts.Out, logs.PrinterOptions{Color: !opts.NoColor, Prefix: !opts.NoLogPrefix, Timestamps: opts.Timestamps, Stderr: opts.Err})
	for _, rec := range recs {
		printer.Register(rec.DisplayName())
	}
	if opts.Follow {
		err := r.Follow(ctx, FollowOptions{
			Project: project, Printer: printer, Read: logs.ReadOptions{Tail: opts.Tail, Follow: true},
			Include: func(rec *record.Record) bool {
				return len(opts.Services) == 0 || slices.Contains(opts.Services, rec.Service)
			},
		})
		if err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	sources := make([]logs.Source, 0, len(recs))
	for _, rec := range recs {
		sources = append(sources, logs.Source{Name: rec.DisplayName(), Path: rec.LogPath(), Done: func() bool { return !r.running(rec) }})
	}
	err = logs.Follow(ctx, printer, sources, logs.ReadOptions{Tail: opts.Tail})
	if ctx.Err() != nil { // Ctrl-C ends `logs -f` normally
		return nil
	}
	return err
}
