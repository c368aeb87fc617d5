// Package progress renders what pull, push, up and down are doing the way
// Docker Compose does: a live, redrawn block on a terminal ("[+] Running 2/3",
// one line per resource, layers with a bar under their image), plain lines
// for logs and CI, JSON lines for machines, or nothing at all.
//
// Callers send Events; a Writer is safe for concurrent use and must be
// closed once the operation ends (Close leaves the final frame on screen).
package progress

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/composer-dev/compose/errdefs"
)

// Mode selects the renderer, as Compose's --progress flag does.
type Mode string

// The modes of Compose's --progress flag.
const (
	ModeAuto  Mode = "auto"  // tty on a terminal (TERM not dumb), plain otherwise
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
	return "", errdefs.Mark(errdefs.ErrInvalidArgument,
		fmt.Errorf("unsupported --progress value %q (use auto, tty, plain, quiet or json)", s))
}

// ModeFor combines --progress and --ansi (auto, never, always) as Compose
// does: --ansi never turns auto into plain and refuses tty; --ansi always
// refuses plain. NO_COLOR is Options.NoColor, not a mode.
func ModeFor(progress, ansi string) (Mode, error) {
	mode, err := ParseMode(progress)
	if err != nil {
		return "", err
	}
	switch ansi {
	case "", "auto":
	case "never":
		if mode == ModeTTY {
			return "", errdefs.Mark(errdefs.ErrInvalidArgument,
				errors.New("can't use --progress tty while ANSI support is disabled"))
		}
		if mode == ModeAuto {
			mode = ModePlain
		}
	case "always":
		if mode == ModePlain {
			return "", errdefs.Mark(errdefs.ErrInvalidArgument,
				errors.New("can't use --progress plain while ANSI support is forced"))
		}
	default:
		return "", errdefs.Mark(errdefs.ErrInvalidArgument,
			fmt.Errorf("unsupported --ansi value %q (use auto, never or always)", ansi))
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
	ID       string // "Container hello-web-1", "Network hello_default", "web", a layer's short id
	ParentID string // "" for a top-level line; a layer's image line otherwise
	Text     string // "Creating", "Started", "Downloading", "Pull complete", ...
	Status   Status
	Current  int64 // bytes so far, optional
	Total    int64 // bytes in all, optional
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
	// NoColor drops colour codes from the tty view (NO_COLOR, --ansi never).
	NoColor bool
	// Now is the clock for elapsed times and throttling; nil means time.Now.
	Now func() time.Time
	// Size reports the terminal's width and height (0 = unknown); nil asks
	// the terminal behind out, falling back to 80 columns.
	Size func() (width, height int)
}

// New returns a Writer for mode; title heads the tty view ("Running",
// "Pulling"). See NewWithOptions.
func New(out io.Writer, mode Mode, title string) (Writer, error) {
	return NewWithOptions(out, mode, title, Options{})
}

// NewWithOptions returns a Writer for mode. Auto picks tty when out is a
// terminal and TERM is not "dumb", plain otherwise.
func NewWithOptions(out io.Writer, mode Mode, title string, opts Options) (Writer, error) {
	mode, err := ParseMode(string(mode))
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if mode == ModeAuto {
		mode = ModePlain
		if _, ok := terminalFd(out); ok && os.Getenv("TERM") != "dumb" {
			mode = ModeTTY
		}
	}
	switch mode {
	case ModeTTY:
		if opts.Size == nil {
			opts.Size = func() (int, int) { return terminalSize(out) }
		}
		if title == "" {
			title = "Running"
		}
		w := newTTY(out, title, opts)
		ticker := time.NewTicker(frameInterval)
		w.start(ticker.C, ticker.Stop)
		return w, nil
	case ModePlain:
		return newLines(out, opts.Now, false), nil
	case ModeJSON:
		return newLines(out, opts.Now, true), nil
	}
	return quiet{}, nil
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

// terminalSize is out's size when it is a terminal; 80 columns and no
// height limit otherwise (tty forced onto a pipe or file).
func terminalSize(out io.Writer) (int, int) {
	if fd, ok := terminalFd(out); ok {
		if w, h, err := term.GetSize(fd); err == nil && w > 0 {
			return w, h
		}
	}
	return 80, 0
}

// quiet drops everything (--progress quiet).
type quiet struct{}

func (quiet) Event(Event)    {}
func (quiet) Events([]Event) {}
func (quiet) Close() error   { return nil }
