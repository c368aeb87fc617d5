// Package progress renders what pull, push, up and down are doing the way
// Docker Compose does: a live, redrawn block on a terminal ("[+] up 2/3",
// one line per resource, an image's layers summed up on its line), plain
// lines for logs and CI, JSON lines for machines, or nothing at all.
//
// Callers send Events; a Writer is safe for concurrent use and must be
// closed once the operation ends (Close leaves the final frame on screen).
package progress

import (
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/term"

	"github.com/composer-dev/compose/errdefs"
)

// Mode selects the renderer, as Compose's --progress flag does.
type Mode string

// The modes of Compose's --progress flag.
const (
	ModeAuto  Mode = "auto"  // tty when the output is a terminal, plain otherwise
	ModeTTY   Mode = "tty"   // live block redrawn in place
	ModePlain Mode = "plain" // one line per event, no escape codes
	ModeQuiet Mode = "quiet" // nothing
	ModeJSON  Mode = "json"  // one JSON object per event
)

// ParseMode checks a --progress value; "" means auto and "none" quiet, as
// in Compose.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeAuto, nil
	case "none":
		return ModeQuiet, nil
	case ModeAuto, ModeTTY, ModePlain, ModeQuiet, ModeJSON:
		return m, nil
	}
	// Docker Compose: cmd/compose/compose.go, selectEventProcessor.
	return "", errdefs.Mark(errdefs.ErrInvalidArgument, fmt.Errorf("unsupported --progress value %q", s))
}

// ModeFor combines --progress and --ansi as Compose does: --ansi never
// turns auto into plain and refuses tty; --ansi always refuses plain. Any
// other --ansi value only matters to colours (see ColorFor).
func ModeFor(progress, ansi string) (Mode, error) {
	mode, err := ParseMode(progress)
	if err != nil {
		return "", err
	}
	switch {
	case ansi == "never" && mode == ModeTTY:
		return "", errdefs.Mark(errdefs.ErrInvalidArgument,
			errors.New("can't use --progress tty while ANSI support is disabled"))
	case ansi == "never" && mode == ModeAuto:
		mode = ModePlain
	case ansi == "always" && mode == ModePlain:
		return "", errdefs.Mark(errdefs.ErrInvalidArgument,
			errors.New("can't use --progress plain while ANSI support is forced"))
	}
	return mode, nil
}

// Status is the state of one resource's task.
type Status int

// Statuses; every status but Working counts as finished.
const (
	Working Status = iota
	Done
	Warning
	Error
)

// String is the status as Compose's JSON progress spells it.
func (s Status) String() string {
	switch s {
	case Working:
		return "Working"
	case Done:
		return "Done"
	case Warning:
		return "Warning"
	}
	return "Error"
}

// Event reports the state of one resource. Later events with the same ID
// update its line.
type Event struct {
	ID       string // "Container hello-web-1", "Network hello_default", "Image busybox", a layer's short id
	ParentID string // "" for a top-level line; a layer's image line otherwise
	Text     string // "Creating", "Started", "Downloading", "Pull complete", ...
	Status   Status
	Current  int64 // bytes so far, optional
	Total    int64 // bytes in all, optional
	Percent  int   // how far a child is, for its parent's summary (0-100)
	Details  string
}

// Writer receives events. Safe for concurrent use; events after Close are
// dropped.
type Writer interface {
	Event(Event)
	Events([]Event)
	// Close stops redrawing, prints the final state and reports the first
	// write error.
	Close() error
}

// Options tune a Writer; the zero value is right for the command line.
type Options struct {
	// NoColor drops colour codes from the tty view (NO_COLOR).
	NoColor bool
	// DryRun marks every line as Compose's --dry-run does.
	DryRun bool
	// Detached keeps "Starting"/"Started" in the tty view of commands other
	// than start. Compose drops them from attached `up` and `run`, whose
	// container logs follow on the same terminal.
	Detached bool
	// Now is the clock for elapsed times and the spinner; nil means time.Now.
	Now func() time.Time
	// Size reports the terminal's width and height; nil asks the terminal
	// behind out, falling back to 80x24 as Compose does.
	Size func() (width, height int)
}

// dryRunPrefix marks the lines of a --dry-run (Compose's cmd/display/dryrun.go).
const dryRunPrefix = " DRY-RUN MODE - "

// New returns a Writer for mode; operation heads the tty view ("up",
// "pull"). See NewWithOptions.
func New(out io.Writer, mode Mode, operation string) (Writer, error) {
	return NewWithOptions(out, mode, operation, Options{})
}

// NewWithOptions returns a Writer for mode. Auto picks tty when out is a
// terminal, plain otherwise (Compose probes its stderr the same way).
func NewWithOptions(out io.Writer, mode Mode, operation string, opts Options) (Writer, error) {
	mode, err := ParseMode(string(mode))
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if mode == ModeAuto {
		mode = ModePlain
		if _, ok := terminalFd(out); ok {
			mode = ModeTTY
		}
	}
	switch mode {
	case ModeTTY:
		if opts.Size == nil {
			opts.Size = func() (int, int) { return terminalSize(out) }
		}
		w := newTTY(out, operation, opts)
		ticker := time.NewTicker(tickInterval)
		w.start(ticker.C, ticker.Stop)
		return w, nil
	case ModePlain:
		return newLines(out, opts, false), nil
	case ModeJSON:
		return newLines(out, opts, true), nil
	}
	return quiet{}, nil
}

// IsTerminal reports whether w writes to a terminal.
func IsTerminal(w io.Writer) bool {
	_, ok := terminalFd(w)
	return ok
}

// terminalFd returns out's file descriptor when out is a terminal.
func terminalFd(out io.Writer) (int, bool) {
	f, ok := out.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// terminalSize is out's size when it is a terminal; 80x24 otherwise (tty
// forced onto a pipe or file), Compose's fallback.
func terminalSize(out io.Writer) (int, int) {
	width, height := 80, 24
	if fd, ok := terminalFd(out); ok {
		if w, h, err := term.GetSize(fd); err == nil {
			if w > 0 {
				width = w
			}
			if h > 0 {
				height = h
			}
		}
	}
	return width, height
}

// quiet drops everything (--progress quiet).
type quiet struct{}

func (quiet) Event(Event)    {}
func (quiet) Events([]Event) {}
func (quiet) Close() error   { return nil }
