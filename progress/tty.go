package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// frameInterval caps redraws at 10 per second, as Compose does.
const frameInterval = 100 * time.Millisecond

// Escape codes the live view uses (VT100, understood by every terminal we
// care about).
const (
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
	clearEOL   = "\x1b[K"
	clearEOS   = "\x1b[J"
)

// tty redraws a block of lines in place: the header, then one line per
// top-level task with its children indented under it.
type tty struct {
	mu     sync.Mutex
	out    io.Writer
	title  string
	opts   Options
	tasks  map[string]*task
	order  []string // IDs in order of first appearance
	drawn  int      // lines of the last frame, to move back over
	dirty  bool
	closed bool
	err    error
	stop   chan struct{}
	done   chan struct{} // closed when the redraw loop has ended; nil without one
}

type task struct {
	Event
	start, end time.Time
}

func newTTY(out io.Writer, title string, opts Options) *tty {
	return &tty{out: out, title: title, opts: opts, tasks: map[string]*task{}, stop: make(chan struct{})}
}

// start runs the redraw loop on tick; stopTick releases the ticker.
func (w *tty) start(tick <-chan time.Time, stopTick func()) {
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		defer stopTick()
		for {
			select {
			case <-w.stop:
				return
			case <-tick:
			}
			w.mu.Lock()
			// Redraw only when something changed: an event, or a spinner
			// and timer that move while a task works.
			if w.dirty || w.working() {
				w.draw()
			}
			w.mu.Unlock()
		}
	}()
}

func (w *tty) Event(e Event) { w.Events([]Event{e}) }

func (w *tty) Events(events []Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	now := w.opts.Now()
	for _, e := range events {
		w.update(e, now)
	}
	w.dirty = true
}

func (w *tty) update(e Event, now time.Time) {
	t, ok := w.tasks[e.ID]
	if !ok {
		t = &task{Event: e, start: now}
		if e.Status != Working {
			t.end = now
		}
		w.tasks[e.ID] = t
		w.order = append(w.order, e.ID)
		return
	}
	// A layer shared by two images reports under both; follow the first
	// parent only so its line does not flicker.
	if e.ParentID != t.ParentID {
		return
	}
	if e.Status != Working && t.Status != e.Status {
		t.end = now
	}
	// Bytes only go up within one step; a new step (Downloading, then
	// Extracting) starts its own count.
	if e.Text == t.Text {
		e.Current = max(e.Current, t.Current)
		e.Total = max(e.Total, t.Total)
	}
	t.Event = e
}

func (w *tty) working() bool {
	for _, t := range w.tasks {
		if t.Status == Working {
			return true
		}
	}
	return false
}

func (w *tty) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.err
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	if w.done != nil {
		<-w.done
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.tasks) > 0 {
		w.draw() // the final frame stays on screen
	}
	return w.err
}

// draw moves the cursor back over the last frame and writes the new one,
// clearing what each line leaves of the old.
func (w *tty) draw() {
	width, height := w.opts.Size()
	if width <= 0 {
		width = 80
	}
	lines := w.frame(w.opts.Now(), width, height)
	var b strings.Builder
	b.WriteString(hideCursor)
	if w.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", w.drawn)
	}
	for _, l := range lines {
		b.WriteString("\r" + l + clearEOL + "\n")
	}
	if len(lines) < w.drawn {
		b.WriteString(clearEOS)
	}
	b.WriteString(showCursor)
	if w.err == nil {
		_, w.err = io.WriteString(w.out, b.String())
	}
	w.drawn = len(lines)
	w.dirty = false
}
