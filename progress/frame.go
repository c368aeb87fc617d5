package progress

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
)

// Colours as Compose uses them.
const (
	reset      = "\x1b[0m"
	blue       = "\x1b[34m"
	green      = "\x1b[32m"
	yellow     = "\x1b[33m"
	yellowBold = "\x1b[33;1m"
	redBold    = "\x1b[31;1m"
)

var spinnerFrames = strings.Split("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏", "")

// barWidth is the inside of a layer's "[===>   ]" bar.
const barWidth = 20

// seg is a piece of a line, coloured only once its final text is known so
// escape codes never count towards the width.
type seg struct{ text, color string }

type row struct {
	t      *task
	indent int
}

// frame lays out the whole block at now, one string per terminal line, none
// wider than width-1 columns so the terminal never wraps (and the cursor
// never sits in the last column's pending-wrap state).
func (w *tty) frame(now time.Time, width, height int) []string {
	roots, children := w.tree()
	done := 0
	for _, t := range roots {
		if t.Status != Working {
			done++
		}
	}
	header := seg{text: fmt.Sprintf("[+] %s %d/%d", w.title, done, len(roots))}
	if done == len(roots) {
		header.color = blue
	}
	lines := []string{w.render(fit([]seg{header}, width-1))}

	// Like Compose, give up on layer lines when the screen cannot hold them:
	// the cursor cannot move back over lines that scrolled away.
	showChildren := height <= 0 || len(w.tasks) <= height-2
	var rows []row
	for _, t := range roots {
		rows = append(rows, row{t, 0})
		if showChildren {
			for _, c := range children[t.ID] {
				rows = append(rows, row{c, 2})
			}
		}
	}
	more := 0
	if limit := max(height-2, 1); height > 0 && len(rows) > limit {
		more = len(rows) - (limit - 1)
		rows = rows[:limit-1]
	}
	idCol := 0
	for _, r := range rows {
		idCol = max(idCol, r.indent+utf8.RuneCountInString(r.t.ID))
	}
	for _, r := range rows {
		lines = append(lines, w.line(r, idCol, now, width))
	}
	if more > 0 {
		lines = append(lines, w.render(fit([]seg{{text: fmt.Sprintf(" ... %d more", more)}}, width-1)))
	}
	return lines
}

// tree splits tasks into top-level ones and the children of each, in order
// of appearance. A child whose parent has not reported yet shows at the top.
func (w *tty) tree() ([]*task, map[string][]*task) {
	var roots []*task
	children := map[string][]*task{}
	for _, id := range w.order {
		t := w.tasks[id]
		if _, ok := w.tasks[t.ParentID]; ok && t.ParentID != "" && t.ParentID != id {
			children[t.ParentID] = append(children[t.ParentID], t)
		} else {
			roots = append(roots, t)
		}
	}
	return roots, children
}

// line renders " ✔ Container hello-web-1  Started      0.3s": glyph, ID
// padded to the ID column, text, byte progress while working, details, and
// the elapsed time right-aligned.
func (w *tty) line(r row, idCol int, now time.Time, width int) string {
	t := r.t
	elapsed := t.end.Sub(t.start)
	if t.Status == Working {
		elapsed = now.Sub(t.start)
	}
	timer := fmt.Sprintf("%.1fs", elapsed.Seconds())
	budget := width - 1 - len(timer) - 1
	if budget < 20 { // too narrow for a timer: keep the words
		budget, timer = width-1, ""
	}
	pad := strings.Repeat(" ", max(idCol-r.indent-utf8.RuneCountInString(t.ID), 0))
	glyph, color := glyphFor(t, now)
	base := []seg{
		{text: strings.Repeat(" ", r.indent+1)},
		{text: glyph, color: color},
		{text: " " + t.ID + pad + "  "},
		{text: t.Text, color: textColor(t.Status)},
	}
	var bar, size []seg
	if t.Status == Working && t.Current > 0 {
		size = []seg{{text: " " + sizes(t.Current, t.Total)}}
		if t.Total > 0 {
			bar = []seg{{text: " " + progressBar(t.Current, t.Total)}}
		}
	}
	var details []seg
	if t.Details != "" {
		details = []seg{{text: " " + t.Details}}
	}
	segs := join(base, bar, size, details)
	if width1(segs) > budget { // the bar goes first when space is short
		segs = join(base, size, details)
	}
	segs = fit(segs, budget)
	if timer != "" {
		segs = append(segs, seg{text: strings.Repeat(" ", budget+1-width1(segs))}, seg{text: timer, color: blue})
	}
	return w.render(segs)
}

func glyphFor(t *task, now time.Time) (string, string) {
	switch t.Status {
	case Done:
		return "✔", green
	case Warning:
		return "!", yellowBold
	case Error:
		return "✘", redBold
	}
	// The frame follows the clock, not the redraw rate.
	i := int(now.Sub(t.start)/frameInterval) % len(spinnerFrames)
	return spinnerFrames[max(i, 0)], yellow
}

func textColor(s Status) string {
	switch s {
	case Done:
		return green
	case Warning:
		return yellowBold
	case Error:
		return redBold
	}
	return ""
}

// sizes is "1.2MB/3.4MB", or "1.2MB" when the total is unknown.
func sizes(current, total int64) string {
	s := units.HumanSizeWithPrecision(float64(current), 3)
	if total > 0 {
		s += "/" + units.HumanSizeWithPrecision(float64(total), 3)
	}
	return s
}

// progressBar is Docker's "[=====>      ]".
func progressBar(current, total int64) string {
	n := int(min(current, total) * barWidth / total)
	if n >= barWidth {
		return "[" + strings.Repeat("=", barWidth) + "]"
	}
	return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(" ", barWidth-n-1) + "]"
}

func join(parts ...[]seg) []seg {
	var out []seg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func width1(segs []seg) int {
	n := 0
	for _, s := range segs {
		n += utf8.RuneCountInString(s.text)
	}
	return n
}

// fit cuts segs to n columns, ending in "..." when something was cut.
func fit(segs []seg, n int) []seg {
	if width1(segs) <= n {
		return segs
	}
	keep, dots := n-3, "..."
	if keep < 0 {
		keep, dots = max(n, 0), ""
	}
	var out []seg
	for _, s := range segs {
		r := []rune(s.text)
		if len(r) >= keep {
			out = append(out, seg{text: string(r[:keep]), color: s.color})
			break
		}
		out = append(out, s)
		keep -= len(r)
	}
	return append(out, seg{text: dots})
}

func (w *tty) render(segs []seg) string {
	var b strings.Builder
	for _, s := range segs {
		if s.color != "" && !w.opts.NoColor && s.text != "" {
			b.WriteString(s.color + s.text + reset)
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String()
}
