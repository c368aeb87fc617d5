package progress

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/testutil"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer lets a test read what a writer's goroutine writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		invalid bool
	}{
		{"", ModeAuto, false},
		{"auto", ModeAuto, false},
		{"tty", ModeTTY, false},
		{"plain", ModePlain, false},
		{"quiet", ModeQuiet, false},
		{"json", ModeJSON, false},
		{"none", ModeQuiet, false},
		{"TTY", "", true},
		{"fancy", "", true},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if tt.invalid {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("ParseMode(%q) error = %v, want invalid argument", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestModeFor(t *testing.T) {
	tests := []struct {
		progress, ansi string
		want           Mode
		invalid        bool
	}{
		{"auto", "auto", ModeAuto, false},
		{"", "", ModeAuto, false},
		{"auto", "never", ModePlain, false},
		{"auto", "always", ModeAuto, false},
		{"tty", "always", ModeTTY, false},
		{"json", "never", ModeJSON, false},
		{"quiet", "always", ModeQuiet, false},
		{"tty", "never", "", true},
		{"plain", "always", "", true},
		{"auto", "sometimes", ModeAuto, false}, // Compose only compares with never and always
		{"fancy", "auto", "", true},
	}
	for _, tt := range tests {
		got, err := ModeFor(tt.progress, tt.ansi)
		if tt.invalid {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("ModeFor(%q, %q) error = %v, want invalid argument", tt.progress, tt.ansi, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ModeFor(%q, %q) = %q, %v; want %q", tt.progress, tt.ansi, got, err, tt.want)
		}
	}
}

func TestNewPicksRenderer(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devNull.Close() })
	tests := []struct {
		name string
		out  io.Writer
		mode Mode
		want string
	}{
		{"auto on a buffer is plain", &bytes.Buffer{}, ModeAuto, "plain"},
		{"auto on a file is plain", devNull, ModeAuto, "plain"},
		{"empty is auto", &bytes.Buffer{}, "", "plain"},
		{"tty forced on a buffer", &bytes.Buffer{}, ModeTTY, "tty"},
		{"json", &bytes.Buffer{}, ModeJSON, "json"},
		{"quiet", &bytes.Buffer{}, ModeQuiet, "quiet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.out, tt.mode, "up")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			if got := kind(w); got != tt.want {
				t.Errorf("renderer = %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := New(&bytes.Buffer{}, "fancy", "up"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("New with a bad mode: error = %v, want invalid argument", err)
	}
}

func kind(w Writer) string {
	switch w := w.(type) {
	case *tty:
		return "tty"
	case *lines:
		if w.json {
			return "json"
		}
		return "plain"
	case quiet:
		return "quiet"
	}
	return "unknown"
}

// TestAutoOnTerminal: auto is tty on a terminal, whatever TERM says
// (Compose: dockerCli.Err().IsTerminal() in selectEventProcessor).
func TestAutoOnTerminal(t *testing.T) {
	pts := openTerminal(t)
	t.Setenv("TERM", "dumb")
	w, err := New(pts, ModeAuto, "up")
	if err != nil {
		t.Fatal(err)
	}
	if kind(w) != "tty" {
		t.Fatalf("auto on a terminal = %s, want tty", kind(w))
	}
	if width, height := w.(*tty).opts.Size(); width != 100 || height != 30 {
		t.Errorf("size = %dx%d, want the terminal's 100x30", width, height)
	}
	// Close without events writes nothing, so nothing waits for a reader.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestQuietWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, ModeQuiet, "up")
	if err != nil {
		t.Fatal(err)
	}
	w.Event(Event{ID: "Container a-web-1", Text: "Started", Status: Done})
	w.Events([]Event{{ID: "x", Text: "Creating"}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("quiet wrote %q", buf.String())
	}
}

// openTerminal returns the terminal end of a new pseudo-terminal sized 100x30.
func openTerminal(t *testing.T) *os.File {
	_, pts := testutil.OpenPTY(t, 30, 100)
	return pts
}
