package progress

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
)

// lines writes one line per event: Compose's plain format, or JSON.
type lines struct {
	mu     sync.Mutex
	out    io.Writer
	dryRun bool
	json   bool
	err    error
	closed bool
}

func newLines(out io.Writer, opts Options, asJSON bool) *lines {
	return &lines{out: out, dryRun: opts.DryRun, json: asJSON}
}

func (l *lines) Event(e Event) { l.Events([]Event{e}) }

func (l *lines) Events(events []Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	var b strings.Builder
	for _, e := range events {
		if l.json {
			b.WriteString(jsonLine(e, l.dryRun))
		} else {
			b.WriteString(plainLine(e, l.dryRun))
		}
	}
	if b.Len() > 0 && l.err == nil {
		_, l.err = io.WriteString(l.out, b.String())
	}
}

// plainLine is Compose's plain format, every event as it comes:
// fmt.Fprintln(out, prefix, e.ID, e.Text, e.Details) in cmd/display/plain.go,
// so " Container hello-web-1 Started " (the operands joined by spaces, the
// empty prefix and details included).
func plainLine(e Event, dryRun bool) string {
	prefix := ""
	if dryRun {
		prefix = dryRunPrefix
	}
	return prefix + " " + e.ID + " " + e.Text + " " + e.Details + "\n"
}

// jsonMessage has the fields of Compose's --progress json lines
// (cmd/display/json.go).
type jsonMessage struct {
	DryRun   bool   `json:"dry-run,omitempty"`
	Tail     bool   `json:"tail,omitempty"`
	ID       string `json:"id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Status   string `json:"status,omitempty"`
	Text     string `json:"text,omitempty"`
	Details  string `json:"details,omitempty"`
	Current  int64  `json:"current,omitempty"`
	Total    int64  `json:"total,omitempty"`
	Percent  int    `json:"percent,omitempty"`
}

func jsonLine(e Event, dryRun bool) string {
	m := jsonMessage{DryRun: dryRun, ID: e.ID, ParentID: e.ParentID, Status: e.Status.String(),
		Text: e.Text, Details: e.Details, Current: e.Current, Total: e.Total, Percent: e.Percent}
	b, _ := json.Marshal(m) // plain strings and numbers: cannot fail
	return string(b) + "\n"
}

func (l *lines) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.err
}
