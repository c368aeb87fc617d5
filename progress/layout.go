package progress

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
)

// Colours as Compose's cmd/display/colors.go sets them (aec).
const (
	reset      = "\x1b[0m"
	blue       = "\x1b[34m"   // timers
	cyan       = "\x1b[36m"   // the dry-run prefix
	green      = "\x1b[32m"   // done
	yellow     = "\x1b[33m"   // the spinner
	yellowBold = "\x1b[33;1m" // warnings
	redBold    = "\x1b[31;1m" // errors
)

// The geometry of Compose's rows (cmd/display/tty_layout.go).
const (
	minIDCells      = 10
	marginCells     = 3  // space, glyph, space
	maxStatusCells  = 20 // widest status worth reserving a column for
	ellipsis        = "..."
	spinnerInterval = tickInterval
)

var (
	spinnerFrames = strings.Split("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏", "")
	// percentGlyphs draw each child's completion in its parent's line.
	percentGlyphs = strings.Split("⠀⡀⣀⣄⣤⣦⣶⣷⣿", "")
)

// seg is a piece of a line, coloured only once its final text is known so
// escape codes never count towards the width.
type seg struct{ text, color string }

// row is one line before it is fitted into the columns.
type row struct {
	glyph               seg
	id, strip, sizes    string // strip: a glyph per child; sizes: their bytes summed
	status, statusColor string
	details, timer      string
	prefix              string // the dry-run marker
}

// frame lays out the whole block at now, one string per terminal line,
// none wider than width: "[+] up 1/2", then a line per top-level task.
func (w *tty) frame(now time.Time, width, height int) []string {
	header := fmt.Sprintf("[+] %s %d/%d", w.operation, w.tree.done, len(w.tree.nodes))
	lines := []string{w.render([]seg{{text: header}}, width)}
	rows := make([]row, 0, len(w.tree.roots))
	for _, n := range w.tree.roots {
		rows = append(rows, w.makeRow(n, now))
	}
	// The cursor cannot move back over lines that scrolled away: keep the
	// block within the screen and say how many rows did not fit.
	more := 0
	if limit := max(height-2, 1); height > 0 && len(rows) > limit {
		more = len(rows) - (limit - 1)
		rows = rows[:limit-1]
	}
	cols := fitColumns(rows, width)
	for i := range rows {
		lines = append(lines, w.render(rowSegs(&rows[i], cols, width), width))
	}
	if more > 0 {
		lines = append(lines, w.render([]seg{{text: fmt.Sprintf(" ... %d more", more)}}, width))
	}
	if height > 0 && len(lines) > height {
		lines = lines[:height]
	}
	return lines
}

func (w *tty) makeRow(n *node, now time.Time) row {
	r := row{
		glyph:       glyphFor(n, now),
		id:          n.ID,
		status:      n.Text,
		statusColor: statusColor(n.Status),
		details:     n.Details,
		timer:       fmt.Sprintf("%.1fs", n.elapsed(now).Seconds()),
	}
	if w.opts.DryRun {
		r.prefix = dryRunPrefix
	}
	r.strip, r.sizes = w.tree.summary(n)
	return r
}

// summary sums up a working task's children: a glyph each for how far it
// is, and "current / total" bytes once every child knows its total.
func (t *tree) summary(n *node) (strip, sizes string) {
	if n.Status != Working || len(t.children[n.ID]) == 0 {
		return "", ""
	}
	var current, total int64
	known := true
	var b strings.Builder
	for _, c := range t.children[n.ID] {
		if c.Status == Working && c.Total == 0 {
			known = false
		}
		current += c.Current
		total += c.Total
		b.WriteString(percentGlyphs[(len(percentGlyphs)-1)*min(c.Percent, 100)/100])
	}
	if known && total > 0 {
		sizes = fmt.Sprintf(" %7s / %-7s", units.HumanSize(float64(current)), units.HumanSize(float64(total)))
	}
	return b.String(), sizes
}

// columns is the geometry shared by the rows of a frame.
type columns struct {
	left  int // dry-run prefix, ID, children's strip and sizes
	timer int
}

func fitColumns(rows []row, width int) columns {
	var c columns
	status := 0
	for i := range rows {
		c.timer = max(c.timer, cells(rows[i].timer))
		c.left = max(c.left, leftWidth(&rows[i], true))
		status = max(status, cells(rows[i].status))
	}
	// Keep room for the status (up to a point) and the timer: a long ID is
	// cut rather than pushing them off the line.
	reserve := min(status, maxStatusCells) + 2
	c.left = min(c.left, max(width-marginCells-reserve-c.timer, minIDCells))
	return c
}

func leftWidth(r *row, withSizes bool) int {
	n := cells(r.prefix) + cells(r.id)
	if r.strip != "" {
		n += 3 + cells(r.strip) // " [" strip "]"
	}
	if withSizes {
		n += cells(r.sizes)
	}
	return n
}

// rowSegs lays out " ✔ Container hello-web-1 Started        0.3s": what
// gives way when space is short, in order: the sizes, the ID's end, the
// status's end, the details.
func rowSegs(r *row, c columns, width int) []seg {
	var segs []seg
	used := 0
	add := func(text, color string) {
		if text != "" {
			segs = append(segs, seg{text, color})
			used += cells(text)
		}
	}
	add(" ", "")
	add(r.glyph.text, r.glyph.color)
	add(r.prefix, cyan)
	add(" ", "")
	sizes := r.sizes
	if leftWidth(r, true) > c.left {
		sizes = ""
	}
	id := r.id
	if lw := leftWidth(r, false); lw > c.left {
		id = truncate(id, max(c.left-(lw-cells(id)), minIDCells-3))
	}
	add(id, "")
	if r.strip != "" {
		add(" [", "")
		add(r.strip, green)
		add("]", "")
	}
	add(sizes, "")
	if pad := marginCells + c.left - used; pad > 0 {
		add(strings.Repeat(" ", pad), "")
	}
	if budget := width - used - c.timer - 2; budget > 0 {
		add(" ", "")
		add(truncate(r.status, budget), r.statusColor)
	}
	if budget := width - used - c.timer - 2; r.details != "" && budget >= 5 {
		add(" ", "")
		add(truncate(r.details, budget-1), "")
	}
	if fill := width - used - c.timer; fill > 0 {
		add(strings.Repeat(" ", fill), "")
	}
	add(strings.Repeat(" ", max(c.timer-cells(r.timer), 0)), "")
	add(r.timer, blue)
	return segs
}

func glyphFor(n *node, now time.Time) seg {
	switch n.Status {
	case Done:
		return seg{"✔", green}
	case Warning:
		return seg{"!", yellowBold}
	case Error:
		return seg{"✘", redBold}
	}
	// The frame follows the clock, not the redraw rate.
	i := int(now.Sub(n.startedAt)/spinnerInterval) % len(spinnerFrames)
	return seg{spinnerFrames[max(i, 0)], yellow}
}

func statusColor(s Status) string {
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

// cells is how many terminal columns s takes (one per rune).
func cells(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to n cells, ending in "..." when something was cut and
// there is room for it.
func truncate(s string, n int) string {
	switch {
	case n <= 0:
		return ""
	case cells(s) <= n:
		return s
	case n <= len(ellipsis):
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-len(ellipsis)]) + ellipsis
}

// render joins segs into a line of at most width cells, colouring each
// piece after it was cut so escape codes never count.
func (w *tty) render(segs []seg, width int) string {
	var b strings.Builder
	used := 0
	for _, s := range segs {
		if n := cells(s.text); used+n > width {
			s.text = string([]rune(s.text)[:max(width-used, 0)])
		}
		if s.text == "" {
			continue
		}
		if s.color != "" && !w.opts.NoColor {
			b.WriteString(s.color + s.text + reset)
		} else {
			b.WriteString(s.text)
		}
		if used += cells(s.text); used >= width {
			break
		}
	}
	return b.String()
}
