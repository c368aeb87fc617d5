package graph

import (
	"context"
	"slices"
)

// Direction of a walk.
type Direction int

const (
	// Up visits a service after all its dependencies.
	Up Direction = iota
	// Down visits a service after all the services that depend on it.
	Down
)

// Walk calls fn for every service, each only after fn returned nil for all
// the services it waits for (its dependencies going Up, its dependents going
// Down). Independent services run in parallel, at most limit at once
// (limit <= 0: no bound). The first error cancels the ctx given to the
// others, stops scheduling, waits for the running calls and is returned.
func (g *Graph) Walk(ctx context.Context, dir Direction, limit int, fn func(ctx context.Context, service string) error) error {
	waitsFor, unblocks := g.deps, g.dependents
	if dir == Down {
		waitsFor, unblocks = g.dependents, g.deps
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pending := make(map[string]int, len(waitsFor))
	var ready []string
	for _, n := range g.Services() {
		pending[n] = len(waitsFor[n])
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}

	type result struct {
		service string
		err     error
	}
	// Buffered for every service, so a finished call never blocks on send
	// and no goroutine outlives Walk.
	results := make(chan result, len(pending))
	running := 0
	var firstErr error
	for {
		for firstErr == nil && len(ready) > 0 && (limit <= 0 || running < limit) {
			if err := ctx.Err(); err != nil {
				firstErr = err
				break
			}
			s := ready[0]
			ready = ready[1:]
			running++
			go func() { results <- result{s, fn(ctx, s)} }()
		}
		if running == 0 {
			return firstErr
		}
		r := <-results
		running--
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
				cancel()
			}
			continue
		}
		for _, n := range unblocks[r.service] {
			pending[n]--
			if pending[n] == 0 {
				ready = append(ready, n)
			}
		}
		slices.Sort(ready)
	}
}
