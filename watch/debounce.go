package watch

import (
	"context"
	"time"
)

// Debounce says how changes are folded into batches. A batch is sent once
// no new path arrived for its quiet period, which grows with the number of
// paths it holds: a single save waits only Quiet, while a storm (an editor
// writing several files, a `git checkout` of thousands) keeps gathering
// through the pauses of the program that writes it, up to MaxQuiet. No
// batch waits longer than MaxDelay after its first change, so a file that
// never stops changing is still synced.
type Debounce struct {
	Quiet    time.Duration // the quiet period of a batch of one path
	MaxQuiet time.Duration // the longest quiet period, reached by large batches
	MaxDelay time.Duration // from the first change of a batch to its sending
}

// DefaultDebounce adds 10 ms to a single save (Docker Compose waits 500 ms).
var DefaultDebounce = Debounce{Quiet: 10 * time.Millisecond, MaxQuiet: 200 * time.Millisecond, MaxDelay: 5 * time.Second}

// quiet is the quiet period of a batch of n paths.
func (d Debounce) quiet(n int) time.Duration {
	return min(d.Quiet*time.Duration(max(n, 1)), d.MaxQuiet)
}

// pending is the batch being gathered.
type pending struct {
	paths       []string
	seen        map[string]bool
	first, last time.Time
}

func (p *pending) add(path string, now time.Time) {
	if p.seen == nil {
		p.seen = map[string]bool{}
		p.first = now
	}
	p.last = now
	if !p.seen[path] {
		p.seen[path] = true
		p.paths = append(p.paths, path)
	}
}

// due is when the batch is sent if nothing else arrives.
func (p *pending) due(d Debounce) time.Time {
	at := p.last.Add(d.quiet(len(p.paths)))
	if limit := p.first.Add(d.MaxDelay); limit.Before(at) {
		return limit
	}
	return at
}

// take returns the batch's paths (in arrival order, each once) and empties it.
func (p *pending) take() []string {
	out := p.paths
	*p = pending{}
	return out
}

// Batch reads changed paths from in and sends them in batches. The
// returned channel is closed when ctx ends or in is closed (after sending
// what was pending).
func Batch(ctx context.Context, in <-chan string, d Debounce) <-chan []string {
	out := make(chan []string)
	go func() {
		defer close(out)
		var p pending
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		send := func() bool {
			select {
			case out <- p.take():
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case path, ok := <-in:
				if !ok {
					if len(p.paths) > 0 {
						send()
					}
					return
				}
				p.add(path, time.Now())
				timer.Reset(time.Until(p.due(d)))
			case <-timer.C:
				if len(p.paths) > 0 && !send() {
					return
				}
			}
		}
	}()
	return out
}
