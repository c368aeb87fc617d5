package logs

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Source is one container's log to show under Name.
type Source struct {
	Name string
	Path string
	Done func() bool // the container has exited (ReadOptions.Done); nil = opts.Done
}

// Follow reads all sources concurrently and prints them through p, each
// source's lines in order. Without opts.Follow it returns once all are
// read; with it, once every source is Done and drained, or with ctx.Err()
// when ctx ends. The first read error stops the others and is returned.
func Follow(ctx context.Context, p *Printer, sources []Source, opts ReadOptions) error {
	for _, s := range sources {
		p.Register(s.Name)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range sources {
		o := opts
		if s.Done != nil {
			o.Done = s.Done
		}
		g.Go(func() error {
			return Read(gctx, s.Path, o, func(e Entry) error {
				p.Print(s.Name, e)
				return nil
			})
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
