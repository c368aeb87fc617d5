package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/composer-dev/compose/progress"
)

// beginProgress opens the progress display of one operation ("Running",
// "Pulling"...); endProgress closes it, leaving its final frame on screen.
func (e *Engine) beginProgress(title string) {
	e.beginProgressIn(e.progressMode, title)
}

// beginProgressIn is beginProgress in another display mode than the
// engine's (quiet for --quiet-pull).
func (e *Engine) beginProgressIn(mode progress.Mode, title string) {
	w, err := progress.NewWithOptions(e.err, mode, title, progress.Options{NoColor: e.noColor})
	if err != nil { // the mode was validated by New; fall back to plain lines
		w, _ = progress.New(e.err, progress.ModePlain, title)
	}
	e.pmu.Lock()
	e.pw = w
	e.pmu.Unlock()
}

func (e *Engine) endProgress() {
	e.pmu.Lock()
	w := e.pw
	e.pw = nil
	e.pmu.Unlock()
	if w != nil {
		w.Close()
	}
}

// progress reports one step of a resource, e.g. ("Container", "app-web-1", "Started").
func (e *Engine) progress(kind, name, status string) {
	e.event(progress.Event{ID: kind + " " + name, Text: status, Status: statusOf(status)})
}

func (e *Engine) event(ev progress.Event) {
	if ev.ID == "" {
		return
	}
	if e.dryRun {
		ev.ID = dryRunPrefix + ev.ID
	}
	e.pmu.Lock()
	defer e.pmu.Unlock()
	if e.pw != nil {
		e.pw.Event(ev)
	}
}

// statusOf: Compose's verbs in -ing are work in progress, the rest are done.
func statusOf(text string) progress.Status {
	if strings.HasSuffix(text, "ing") || text == "Recreate" {
		return progress.Working
	}
	return progress.Done
}

// warn shows the warnings of creating container name: as lines of the
// progress display when one is open, else the way Docker Compose prints its
// own warnings.
func (e *Engine) warn(name string, msgs ...string) {
	for i, m := range msgs {
		e.pmu.Lock()
		pw := e.pw
		e.pmu.Unlock()
		if pw == nil {
			fmt.Fprintf(e.err, "WARN[0000] %s\n", m)
			continue
		}
		id := "Container " + name + " warning"
		if i > 0 {
			id += " " + strconv.Itoa(i+1)
		}
		e.event(progress.Event{ID: id, Text: m, Status: progress.Warning})
	}
}
