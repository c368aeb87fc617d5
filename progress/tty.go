package progress

import (
	"io"
	"sync"
	"time"
)

// tickInterval caps redraws at 10 per second and paces the spinner, as
// Compose does.
const tickInterval = 100 * time.Millisecond

// tty redraws a block of lines in place: the header, then one line per
// top-level task; children (an image's layers) only feed their parent's
// line, as in Compose's cmd/display/tty*.go.
type tty struct {
	mu        sync.Mutex
	out       io.Writer
	operation string
	opts      Options
	tree      tree
	scr       screen
	suspended bool // a build writes its own output on the terminal
	closed    bool
	err       error
	stop      chan struct{}
	done      chan struct{} // closed when the redraw loop has ended; nil without one
}

func newTTY(out io.Writer, operation string, opts Options) *tty {
	return &tty{out: out, operation: operation, opts: opts, tree: newTree(), stop: make(chan struct{})}
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
			w.repaint()
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
		if w.hides(e) {
			continue
		}
		// A build's output goes to the same terminal: stay silent while it
		// runs, then start a new block below it (Compose: tty.go, handle).
		if e.Text == "Building" {
			w.suspended = true
		} else if w.suspended {
			w.suspended = false
			w.scr = screen{}
		}
		w.tree.apply(e, now)
		if w.operation == "" {
			w.line(e)
		}
	}
}

// line prints an event outside any operation as Compose's tty writer
// does: "Container x Stopping " (cmd/display/tty.go, handle), no block.
func (w *tty) line(e Event) {
	color := statusColor(e.Status)
	if color == "" {
		color = green
	}
	s := w.render([]seg{{text: e.ID + " "}, {text: e.Text, color: color}, {text: " " + e.Details + "\n"}}, 1<<30)
	if w.err == nil {
		_, w.err = io.WriteString(w.out, s)
	}
}

// hides reports the events Compose keeps off the block: outside `start`,
// the Starting/Started rows of an attached command, whose container logs
// follow on the same terminal.
func (w *tty) hides(e Event) bool {
	return w.operation != "start" && !w.opts.Detached && (e.Text == "Started" || e.Text == "Starting")
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
	w.repaint() // the final frame stays on screen
	return w.err
}

// repaint lays out the block and paints what changed since the last frame.
func (w *tty) repaint() {
	if len(w.tree.nodes) == 0 || w.operation == "" || w.suspended {
		return
	}
	width, height := w.opts.Size()
	if width <= 0 {
		width = 80
	}
	b := w.scr.paint(w.frame(w.opts.Now(), width, height), width)
	if b != "" && w.err == nil {
		_, w.err = io.WriteString(w.out, b)
	}
}

// node is the state of one task, fed only by tree.apply.
type node struct {
	Event
	anchor    string // the first parent seen: only its events update the node
	parents   map[string]bool
	startedAt time.Time
	endedAt   time.Time
}

func (n *node) completed() bool { return n.Status != Working }

// tree keeps the tasks in order of arrival and links children to parents.
type tree struct {
	nodes    map[string]*node
	roots    []*node            // nodes without a parent, in order of arrival
	children map[string][]*node // parent ID → children, in order of linking
	done     int                // nodes currently finished
}

func newTree() tree {
	return tree{nodes: map[string]*node{}, children: map[string][]*node{}}
}

func (t *tree) apply(e Event, now time.Time) {
	n, ok := t.nodes[e.ID]
	if !ok {
		n = &node{Event: Event{ID: e.ID}, anchor: e.ParentID, parents: map[string]bool{}, startedAt: now}
		t.nodes[e.ID] = n
		if e.ParentID == "" {
			t.roots = append(t.roots, n)
		}
	}
	if e.ParentID != "" {
		if !n.parents[e.ParentID] {
			n.parents[e.ParentID] = true
			t.children[e.ParentID] = append(t.children[e.ParentID], n)
			if len(n.parents) == 1 {
				t.removeRoot(n)
			}
		}
		// A layer shared by two images reports under both; follow the
		// first parent only so its state does not flicker.
		if n.anchor != e.ParentID {
			return
		}
	}
	was := n.completed() // a new node starts as Working
	n.Status, n.Text, n.Details = e.Status, e.Text, e.Details
	// Counts only go up: a late event must not move a bar backwards.
	n.Current = max(n.Current, e.Current)
	n.Total = max(n.Total, e.Total)
	n.Percent = max(n.Percent, e.Percent)
	switch {
	case n.completed() && !was:
		n.endedAt = now
		t.done++
	case !n.completed() && was:
		t.done--
	}
}

func (t *tree) removeRoot(n *node) {
	for i, r := range t.roots {
		if r == n {
			t.roots = append(t.roots[:i], t.roots[i+1:]...)
			return
		}
	}
}

// elapsed is a task's time: running for a working task, frozen once it ended.
func (n *node) elapsed(now time.Time) time.Duration {
	switch {
	case n.Status == Working:
		return now.Sub(n.startedAt)
	case !n.endedAt.IsZero():
		return n.endedAt.Sub(n.startedAt)
	}
	return 0
}
