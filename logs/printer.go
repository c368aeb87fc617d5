package logs

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// timestampFormat is how `logs -t` shows times: RFC 3339 with a fixed
// nine-digit fraction (Docker's RFC3339NanoFixed), in UTC.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// palette is the order Docker Compose hands colours to containers: cyan,
// yellow, green, magenta, blue, then their bold ("intense") variants.
var palette = []string{"36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"}

// PrinterOptions mirror `compose logs`/`up` flags.
type PrinterOptions struct {
	Color      bool // false = --no-color
	Prefix     bool // false = --no-log-prefix
	Timestamps bool // -t
	// Stderr receives lines from containers' stderr, as Docker Compose
	// does; nil sends them to out with the rest.
	Stderr io.Writer
}

// Printer writes several containers' log lines to one output, prefixed
// with the container's name in its own colour.
type Printer struct {
	out  io.Writer
	opts PrinterOptions

	mu     sync.Mutex
	names  map[string]string // name → colour code ("" without colour)
	width  int               // longest name + 1
	colors int               // colours handed out so far
}

// NewPrinter returns a Printer writing to out.
func NewPrinter(out io.Writer, opts PrinterOptions) *Printer {
	return &Printer{out: out, opts: opts, names: map[string]string{}}
}

// Register gives each new name the next colour and widens the prefix to
// fit the longest name, so columns line up.
func (p *Printer) Register(names ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range names {
		p.register(n)
	}
}

func (p *Printer) register(name string) string {
	if c, ok := p.names[name]; ok {
		return c
	}
	c := ""
	if root, _, sub := strings.Cut(name, " "); sub {
		// A hook's lines ("web-1 ->", "web pre_start[0] ->") take the
		// colour of what they belong to, as Compose's log view gives them.
		c = p.register(root)
	} else if p.opts.Color {
		c = palette[p.colors%len(palette)]
		p.colors++
	}
	p.names[name] = c
	p.width = max(p.width, len(name)+1)
	return c
}

// Print writes one entry; each line is a single write, so lines of
// different containers never interleave.
func (p *Printer) Print(name string, e Entry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.register(name)
	prefix := ""
	if p.opts.Prefix {
		prefix = paint(c, fmt.Sprintf("%-*s | ", p.width, name))
	}
	ts := ""
	if p.opts.Timestamps {
		ts = e.Time.UTC().Format(timestampFormat) + " "
	}
	var b strings.Builder
	for _, line := range strings.Split(e.Line, "\n") {
		b.WriteString(prefix)
		b.WriteString(ts)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	out := p.out
	if e.Stream == "stderr" && p.opts.Stderr != nil {
		out = p.opts.Stderr
	}
	io.WriteString(out, b.String()) //nolint:errcheck // nowhere to report
}

// Event writes text as an un-prefixed status line in name's colour, e.g.
// Event("web-1", "web-1 exited with code 0"). Like Compose, the colour
// codes enclose the newline.
func (p *Printer) Event(name, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.register(name)
	io.WriteString(p.out, paint(c, text+"\n")) //nolint:errcheck // nowhere to report
}

// watchName is the name Docker Compose gives the watch's lines: it counts
// in the width of the prefix column like a container's name.
const watchName = "#watch"

// Watch writes a line of `up --watch`'s own: a ⦿ in the prefix column, in
// bright green, as Docker Compose marks them.
func (p *Printer) Watch(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.names[watchName]; !ok {
		p.names[watchName] = "" // no colour of the palette taken
		p.width = max(p.width, len(watchName)+1)
	}
	prefix := ""
	if p.opts.Prefix {
		prefix = strings.Repeat(" ", p.width) + " ⦿ "
		if p.opts.Color {
			prefix = paint("92", prefix)
		}
	}
	ts := ""
	if p.opts.Timestamps {
		ts = time.Now().UTC().Format(timestampFormat) + " "
	}
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(prefix)
		b.WriteString(ts)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	io.WriteString(p.out, b.String()) //nolint:errcheck // nowhere to report
}

// paint wraps s in an ANSI colour, as Compose does (reset after s).
func paint(code, s string) string {
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
