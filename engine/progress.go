package engine

import (
	"fmt"
	"strings"

	"github.com/composer-dev/compose/progress"
)

// beginProgress opens the progress display of one operation, named as
// Docker Compose names it in the tty view's header ("up", "pull", "stop"...;
// "" for events outside any, which a terminal shows as lines);
// endProgress closes it, leaving its final frame on screen.
func (e *Engine) beginProgress(operation string) {
	e.beginProgressIn(e.progressMode, operation, false)
}

// beginProgressOf is beginProgress for a command that may be detached
// (up -d, run -d): only then does a terminal show its Started lines.
func (e *Engine) beginProgressOf(operation string, detached bool) {
	e.beginProgressIn(e.progressMode, operation, detached)
}

// beginProgressIn is beginProgressOf in another display mode than the
// engine's (quiet for --quiet-pull).
func (e *Engine) beginProgressIn(mode progress.Mode, operation string, detached bool) {
	opts := progress.Options{NoColor: e.noColor, DryRun: e.dryRun, Detached: detached}
	w, err := progress.NewWithOptions(e.err, mode, operation, opts)
	if err != nil { // the mode was validated by New; fall back to plain lines
		w, _ = progress.NewWithOptions(e.err, progress.ModePlain, operation, opts)
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
	e.pmu.Lock()
	defer e.pmu.Unlock()
	if e.pw != nil {
		e.pw.Event(ev)
	}
}

// statusOf: Compose's verbs in -ing are work in progress, the rest are
// done, but for its error and warning texts.
func statusOf(text string) progress.Status {
	switch {
	case text == "Error":
		return progress.Error
	case text == "Resource is still in use":
		return progress.Warning
	case strings.HasSuffix(text, "ing") || text == "Recreate":
		return progress.Working
	}
	return progress.Done
}

// warn shows warnings: with a progress display open, as Docker Compose
// reports a container's creation warnings, a Warning line under the
// service's name (convergence.go, createMobyContainer); else as its own
// warnings, a WARN line.
func (e *Engine) warn(service string, msgs ...string) {
	for _, m := range msgs {
		e.pmu.Lock()
		pw := e.pw
		e.pmu.Unlock()
		if pw == nil {
			fmt.Fprintf(e.err, "WARN[0000] %s\n", m)
			continue
		}
		e.event(progress.Event{ID: service, Text: m, Status: progress.Warning})
	}
}
