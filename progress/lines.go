package progress

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"
)

// plainRepeat is how often plain mode repeats a line whose only change is
// its byte count, so a pull does not flood a CI log.
const plainRepeat = time.Second

// lines writes one line per event: Compose's plain format, or JSON.
type lines struct {
	mu     sync.Mutex
	out    io.Writer
	now    func() time.Time
	json   bool
	last   map[string]printed // plain: what each ID last printed, for throttling
	err    error
	closed bool
}

type printed struct {
	e  Event
	at time.Time
}

func newLines(out io.Writer, now func() time.Time, asJSON bool) *lines {
	return &lines{out: out, now: now, json: asJSON, last: map[string]printed{}}
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
			b.WriteString(jsonLine(e))
		} else if l.due(e) {
			b.WriteString(plainLine(e))
		}
	}
	if b.Len() > 0 && l.err == nil {
		_, l.err = io.WriteString(l.out, b.String())
	}
}

// due reports whether plain mode prints e: always when its text, status or
// details changed, at most once per plainRepeat when only bytes moved, and
// never for an exact repeat.
func (l *lines) due(e Event) bool {
	now := l.now()
	p, seen := l.last[e.ID]
	if seen && p.e.Text == e.Text && p.e.Status == e.Status && p.e.Details == e.Details &&
		(p.e.Current == e.Current && p.e.Total == e.Total || now.Sub(p.at) < plainRepeat) {
		return false
	}
	l.last[e.ID] = printed{e: e, at: now}
	return true
}

// plainLine is Compose's plain format: " Container hello-web-1  Started".
func plainLine(e Event) string {
	s := " " + e.ID + "  " + e.Text
	if e.Status == Working && e.Current > 0 {
		s += " " + sizes(e.Current, e.Total)
	}
	if e.Details != "" {
		s += " " + e.Details
	}
	return strings.TrimRight(s, " ") + "\n"
}

// jsonMessage has the fields of Compose's --progress json lines.
type jsonMessage struct {
	ID       string `json:"id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Status   string `json:"status,omitempty"`
	Text     string `json:"text,omitempty"`
	Details  string `json:"details,omitempty"`
	Current  int64  `json:"current,omitempty"`
	Total    int64  `json:"total,omitempty"`
	Percent  int    `json:"percent,omitempty"`
}

func jsonLine(e Event) string {
	m := jsonMessage{ID: e.ID, ParentID: e.ParentID, Status: e.Status.String(),
		Text: e.Text, Details: e.Details, Current: e.Current, Total: e.Total}
	if e.Total > 0 {
		m.Percent = int(min(e.Current, e.Total) * 100 / e.Total)
	}
	b, _ := json.Marshal(m) // plain strings and numbers: cannot fail
	return string(b) + "\n"
}

func (l *lines) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.err
}
