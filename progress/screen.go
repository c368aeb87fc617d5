package progress

import (
	"fmt"
	"slices"
	"strings"
)

// Escape codes of the live view, as Compose's aec calls write them.
const (
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
	column0    = "\x1b[0G"
	eraseLine  = "\x1b[2K"
)

// screen owns the terminal lines the block is painted on. Every line fits
// the width, so each is one terminal row and the cursor can move back
// over the block. Rows that did not change since the last frame are
// skipped; a frame is one write.
type screen struct {
	prev      []string
	prevWidth int
}

// paint returns what turns the last frame into rows ("" when nothing changed).
func (s *screen) paint(rows []string, width int) string {
	if width < s.prevWidth {
		// The terminal shrank and may have rewrapped the old block: leave
		// it behind and start a new one.
		s.prev, s.prevWidth = nil, 0
	}
	all := width != s.prevWidth
	if !all && slices.Equal(rows, s.prev) {
		return ""
	}
	var b strings.Builder
	b.WriteString(hideCursor)
	if n := len(s.prev); n > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", n)
	}
	b.WriteString(column0)
	for i, r := range rows {
		if !all && i < len(s.prev) && s.prev[i] == r {
			b.WriteString("\n")
			continue
		}
		b.WriteString(eraseLine + r + "\n")
	}
	if extra := len(s.prev) - len(rows); extra > 0 {
		b.WriteString(strings.Repeat(eraseLine+"\n", extra))
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	b.WriteString(showCursor)
	s.prev, s.prevWidth = rows, width
	return b.String()
}
