package status

import (
	"context"
	"io"
	"slices"
	"time"

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
	// Index (--index) keeps only the container with that number (0: all).
	Index int
	// Since and Until (--since, --until) bound the lines by time; zero: no bound.
	Since, Until time.Time
	Out          io.Writer // where the lines go
	Err          io.Writer // where the containers' stderr lines go (Compose: formatter/logs.go, Err)
}

// wanted reports whether a container is one the options select.
func (o LogsOptions) wanted(rec *record.Record) bool {
	return (len(o.Services) == 0 || slices.Contains(o.Services, rec.Service)) && (o.Index <= 0 || rec.Number == o.Index)
}

// Logs prints the aggregated logs of the project's containers of services
// (all when empty). With Follow it keeps printing, through restarts and
// recreations, until every container has exited for good or ctx ends.
func (r *Reporter) Logs(ctx context.Context, project string, opts LogsOptions) error {
	recs, err := r.list(project, opts.Services)
	if err != nil {
		return err
	}
	recs = slices.DeleteFunc(recs, func(rec *record.Record) bool { return !opts.wanted(rec) })
	read := logs.ReadOptions{Tail: opts.Tail, Since: opts.Since, Until: opts.Until}
	printer := logs.NewPrinter(opts.Out, logs.PrinterOptions{Color: !opts.NoColor, Prefix: !opts.NoLogPrefix, Timestamps: opts.Timestamps, Stderr: opts.Err})
	for _, rec := range recs {
		printer.Register(rec.DisplayName())
	}
	if opts.Follow {
		read.Follow = true
		err := r.Follow(ctx, FollowOptions{Project: project, Printer: printer, Read: read, Include: opts.wanted})
		if err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	sources := make([]logs.Source, 0, len(recs))
	for _, rec := range recs {
		sources = append(sources, logs.Source{Name: rec.DisplayName(), Path: rec.LogPath(), Done: func() bool { return !r.running(rec) }})
	}
	err = logs.Follow(ctx, printer, sources, read)
	if ctx.Err() != nil { // Ctrl-C ends `logs -f` normally
		return nil
	}
	return err
}
