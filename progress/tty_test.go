package progress

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// newTestTTY is a tty writer with a fake clock and a fixed size, and no
// redraw loop: the test draws frames itself.
func newTestTTY(out *bytes.Buffer, c *clock, width, height int, color bool) *tty {
	return newTTY(out, "up", Options{
		NoColor:  !color,
		Detached: true,
		Now:      c.Now,
		Size:     func() (int, int) { return width, height },
	})
}

var escape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func visible(s string) string { return escape.ReplaceAllString(s, "") }

// TestTTYSnapshot is Docker Compose's own golden frame
// (cmd/display/tty_test.go, TestTerm_VisualSnapshot, 50 columns):
//
//	[+] pull 1/2
//	 ✔ Image docker.io/library/nginx-l... Pulled  2.0s
//	 ⠋ Image docker.io/library/postgre... Pulling 0.0s
func TestTTYSnapshot(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTTY(&buf, "pull", Options{NoColor: true, Now: c.Now})
	w.Event(Event{ID: "Image docker.io/library/nginx-long-name", Text: "Pulling"})
	c.Advance(2 * time.Second)
	w.Event(Event{ID: "Image docker.io/library/nginx-long-name", Text: "Pulled", Status: Done})
	w.Event(Event{ID: "Image docker.io/library/postgres-database", Text: "Pulling"})
	want := []string{
		"[+] pull 1/2",
		" ✔ Image docker.io/library/nginx-l... Pulled  2.0s",
		" ⠋ Image docker.io/library/postgre... Pulling 0.0s",
	}
	if got := w.frame(c.Now(), 50, 24); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTTYFrames: the block is painted, then repainted in place, rows that
// did not change skipped (Compose's cmd/display/tty_screen.go), and the
// final frame stays. One space separates the ID column from the status and
// the timer ends at the last column (cmd/display/tty_layout.go).
func TestTTYFrames(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 40, 24, false)
	w.Events([]Event{
		{ID: "Network hello_default", Text: "Creating"},
		{ID: "Container hello-web-1", Text: "Creating"},
	})
	c.Advance(100 * time.Millisecond)
	w.repaint()
	w.Event(Event{ID: "Network hello_default", Text: "Created", Status: Done})
	c.Advance(200 * time.Millisecond)
	w.Event(Event{ID: "Container hello-web-1", Text: "Started", Status: Done})
	c.Advance(time.Second) // finished tasks keep their time
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"\x1b[?25l\x1b[0G" +
		"\x1b[2K[+] up 0/2\n" +
		"\x1b[2K ⠙ Network hello_default Creating   0.1s\n" +
		"\x1b[2K ⠙ Container hello-web-1 Creating   0.1s\n" +
		"\x1b[?25h" +
		"\x1b[?25l\x1b[3A\x1b[0G" +
		"\x1b[2K[+] up 2/2\n" +
		"\x1b[2K ✔ Network hello_default Created    0.1s\n" +
		"\x1b[2K ✔ Container hello-web-1 Started    0.3s\n" +
		"\x1b[?25h"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

// TestTTYColor: Compose's colours (cmd/display/colors.go): a green ✔ and
// status, bold yellow !, bold red ✘, a yellow spinner, blue timers, the
// header uncoloured.
func TestTTYColor(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 50, 24, true)
	w.Events([]Event{
		{ID: "Container a-db-1", Text: "Started", Status: Done},
		{ID: "Container a-web-1", Text: "Error", Status: Error, Details: "exit 1"},
		{ID: "Container a-job-1", Text: "Skipped", Status: Warning},
		{ID: "Container a-api-1", Text: "Starting"},
	})
	got := strings.Join(w.frame(c.Now(), 50, 24), "\n")
	want := "" +
		"[+] up 3/4\n" +
		" \x1b[32m✔\x1b[0m Container a-db-1  \x1b[32mStarted\x1b[0m                  \x1b[34m0.0s\x1b[0m\n" +
		" \x1b[31;1m✘\x1b[0m Container a-web-1 \x1b[31;1mError\x1b[0m exit 1             \x1b[34m0.0s\x1b[0m\n" +
		" \x1b[33;1m!\x1b[0m Container a-job-1 \x1b[33;1mSkipped\x1b[0m                  \x1b[34m0.0s\x1b[0m\n" +
		" \x1b[33m⠋\x1b[0m Container a-api-1 Starting                 \x1b[34m0.0s\x1b[0m"
	if got != want {
		t.Errorf("frame:\n%q\nwant:\n%q", got, want)
	}
}

// TestTTYHidesStarts: outside `start`, Compose's tty drops Starting and
// Started unless the command is detached (cmd/display/tty.go, On): in an
// attached up the container logs follow on the terminal.
func TestTTYHidesStarts(t *testing.T) {
	for _, tt := range []struct {
		operation string
		detached  bool
		shown     bool
	}{
		{"up", false, false},
		{"up", true, true},
		{"start", false, true},
		{"restart", false, false},
	} {
		var buf bytes.Buffer
		c := newClock()
		w := newTTY(&buf, tt.operation, Options{NoColor: true, Detached: tt.detached, Now: c.Now})
		w.Event(Event{ID: "Container a-web-1", Text: "Created", Status: Done})
		w.Event(Event{ID: "Container a-web-1", Text: "Starting"})
		w.Event(Event{ID: "Container a-web-1", Text: "Started", Status: Done})
		frame := strings.Join(w.frame(c.Now(), 60, 24), "\n")
		if shown := strings.Contains(frame, "Started"); shown != tt.shown {
			t.Errorf("%s (detached %v): Started shown = %v, want %v:\n%s", tt.operation, tt.detached, shown, tt.shown, frame)
		}
		if !strings.Contains(frame, "Container a-web-1") {
			t.Errorf("%s: the container's row is missing:\n%s", tt.operation, frame)
		}
	}
}

// TestTTYLayers: an image's layers get no rows of their own; its row
// shows a glyph per layer and their bytes summed, once every working
// layer knows its total (Compose: TestTerm_ChildTasksAggregateIntoParentRow,
// "25MB / 100MB"). The header counts the layers too ("[+] pull 3/15").
func TestTTYLayers(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTTY(&buf, "pull", Options{NoColor: true, Now: c.Now})
	w.Events([]Event{
		{ID: "Image nginx", Text: "Pulling"},
		{ID: "sha256:aaaa", ParentID: "Image nginx", Text: "Downloading", Current: 25_000_000, Total: 100_000_000, Percent: 25},
		{ID: "sha256:bbbb", ParentID: "Image nginx", Text: "Pull complete", Status: Done, Percent: 100},
	})
	got := w.frame(c.Now(), 100, 40)
	want := []string{
		"[+] pull 1/3",
		" ⠋ Image nginx [⣀⣿]    25MB / 100MB   Pulling                                                   0.0s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frame:\n%q\nwant:\n%q", got, want)
	}
	// A layer of unknown size hides the sizes; a finished image drops the summary.
	w.Event(Event{ID: "sha256:cccc", ParentID: "Image nginx", Text: "Waiting"})
	if l := w.frame(c.Now(), 100, 40)[1]; strings.Contains(l, "MB") || !strings.Contains(l, "[⣀⣿⠀]") {
		t.Errorf("with a layer of unknown size: %q", l)
	}
	w.Event(Event{ID: "Image nginx", Text: "Pulled", Status: Done})
	if l := w.frame(c.Now(), 100, 40)[1]; strings.Contains(l, "[") {
		t.Errorf("a finished image still shows its layers: %q", l)
	}
}

// TestTTYDryRun: the dry-run marker follows the glyph, in cyan.
func TestTTYDryRun(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTTY(&buf, "up", Options{NoColor: true, DryRun: true, Now: c.Now})
	w.Event(Event{ID: "Container a-web-1", Text: "Created", Status: Done})
	if got, want := w.frame(c.Now(), 50, 24)[1], " ✔ DRY-RUN MODE -  Container a-web-1 Created  0.0s"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

// TestTTYNeverWraps checks that every line of a busy frame fits the
// terminal, from a tiny one to a normal one.
func TestTTYNeverWraps(t *testing.T) {
	for _, width := range []int{1, 5, 8, 12, 25, 40, 61, 80, 132} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var buf bytes.Buffer
			c := newClock()
			w := newTestTTY(&buf, c, width, 24, true)
			w.Events([]Event{
				{ID: "Image web", Text: "Pulling"},
				{ID: "9876fedc5432", ParentID: "Image web", Text: "Downloading", Current: 12_345_678, Total: 45_678_901, Percent: 27},
				{ID: "Container a-very-long-project-name-with-a-service-1", Text: "Error", Status: Error,
					Details: "failed to create task: exec: \"nope\": executable file not found in $PATH"},
				{ID: "app", Status: Warning, Text: "Skipped: current commandline does not match manifest, and image has no local build metadata"},
			})
			c.Advance(123 * time.Second)
			for _, l := range w.frame(c.Now(), width, 24) {
				if n := utf8.RuneCountInString(visible(l)); n > width {
					t.Errorf("line of %d columns on a %d-column terminal: %q", n, width, visible(l))
				}
			}
		})
	}
}

func TestTTYTruncates(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 40, 24, false)
	w.Event(Event{ID: "Container x-web-1", Text: "Error", Status: Error, Details: "exec: \"nope\": executable file not found"})
	if got, want := w.frame(c.Now(), 40, 24)[1], " ✘ Container x-web-1 Error exec...  0.0s"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

// TestTTYShortTerminal: no more rows than the terminal has, the last one
// saying how many did not fit (Compose: TestTerm_HeightCapAddsMoreMarker).
func TestTTYShortTerminal(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 40, 5, false)
	for i := range 5 {
		w.Event(Event{ID: fmt.Sprintf("Container p-s%d-1", i), Text: "Created", Status: Done})
	}
	want := []string{
		"[+] up 5/5",
		" ✔ Container p-s0-1 Created         0.0s",
		" ✔ Container p-s1-1 Created         0.0s",
		" ... 3 more",
	}
	if got := w.frame(c.Now(), 40, 5); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for height := 1; height <= 4; height++ {
		if got := w.frame(c.Now(), 40, height); len(got) > height {
			t.Errorf("height %d: %d lines", height, len(got))
		}
	}
}

// TestScreen: unchanged rows are skipped, an identical frame writes
// nothing, rows a shorter frame leaves are blanked (Compose:
// TestTerm_DiffRepaintSkipsUnchangedRows, TestTerm_ShrinkingFrameBlanksLeftoverRows).
func TestScreen(t *testing.T) {
	var s screen
	s.paint([]string{"header", "row a", "row b"}, 80)
	got := s.paint([]string{"header", "row a CHANGED", "row b"}, 80)
	if want := "\x1b[?25l\x1b[3A\x1b[0G\n\x1b[2Krow a CHANGED\n\n\x1b[?25h"; got != want {
		t.Errorf("repaint = %q, want %q", got, want)
	}
	if got := s.paint([]string{"header", "row a CHANGED", "row b"}, 80); got != "" {
		t.Errorf("identical frame wrote %q", got)
	}
	got = s.paint([]string{"header", "row a CHANGED"}, 80)
	if want := "\x1b[?25l\x1b[3A\x1b[0G\n\n\x1b[2K\n\x1b[1A\x1b[?25h"; got != want {
		t.Errorf("shrinking frame = %q, want %q", got, want)
	}
	// A narrower terminal may have rewrapped the block: start a new one.
	if got := s.paint([]string{"header"}, 60); strings.Contains(got, "A") {
		t.Errorf("after a shrink the cursor moved up: %q", got)
	}
}

// TestTTYLoop drives the redraw loop with a hand-made ticker: it paints
// when something changed or works, and stays silent once all is finished.
func TestTTYLoop(t *testing.T) {
	out := &syncBuffer{}
	c := newClock()
	w := newTTY(out, "up", Options{NoColor: true, Detached: true, Now: c.Now, Size: func() (int, int) { return 40, 24 }})
	tick := make(chan time.Time)
	stopped := make(chan struct{})
	w.start(tick, func() { close(stopped) })
	t.Cleanup(func() { w.Close() })

	// An unbuffered send returns once the loop took the tick, so after two
	// sends the first tick's repaint is complete.
	ticks := func(n int) {
		for range n {
			tick <- c.Now()
		}
	}
	ticks(2)
	if out.String() != "" {
		t.Fatalf("painted with no events: %q", out.String())
	}
	w.Event(Event{ID: "Container a-web-1", Text: "Starting"})
	ticks(2)
	first := out.String()
	if !strings.Contains(first, "⠋ Container a-web-1 Starting") {
		t.Fatalf("no frame after an event: %q", first)
	}
	c.Advance(100 * time.Millisecond) // a working task animates
	ticks(2)
	if !strings.Contains(strings.TrimPrefix(out.String(), first), "⠙ Container a-web-1 Starting") {
		t.Fatalf("spinner did not move: %q", out.String())
	}
	w.Event(Event{ID: "Container a-web-1", Text: "Started", Status: Done})
	ticks(2)
	idle := out.String()
	if !strings.Contains(idle, "✔ Container a-web-1 Started") {
		t.Fatalf("no frame for the finished task: %q", idle)
	}
	ticks(3)
	if out.String() != idle {
		t.Errorf("repainted with nothing changing: %q", strings.TrimPrefix(out.String(), idle))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	default:
		t.Error("Close did not release the ticker")
	}
	w.Event(Event{ID: "late", Text: "Creating"}) // after Close: dropped, no panic
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConcurrentWriters sends events from many goroutines to every mode
// with its real redraw loop; run with -race.
func TestConcurrentWriters(t *testing.T) {
	for _, mode := range []Mode{ModeTTY, ModePlain, ModeJSON, ModeQuiet} {
		t.Run(string(mode), func(t *testing.T) {
			out := &syncBuffer{}
			w, err := NewWithOptions(out, mode, "up", Options{Detached: true, Size: func() (int, int) { return 80, 0 }})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					id := fmt.Sprintf("Container p-s%d-1", g)
					for i := range 50 {
						w.Event(Event{ID: id, Text: "Starting", Current: int64(i)})
					}
					w.Events([]Event{{ID: id, Text: "Started", Status: Done}})
				})
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for g := range 8 {
				if mode != ModeQuiet && !strings.Contains(got, fmt.Sprintf("Container p-s%d-1", g)) {
					t.Errorf("output lacks container %d", g)
				}
			}
			if mode == ModeTTY && !strings.Contains(got, "[+] up 8/8") {
				t.Errorf("final frame missing: %q", got[max(len(got)-300, 0):])
			}
		})
	}
}

// TestTTYNoOperation: events outside an operation (attached up's stop on
// Ctrl-C) are lines, not a block: fmt.Fprintf(w.out, "%s %s %s\n", e.ID,
// color(e.Text), e.Details) in Compose's cmd/display/tty.go.
func TestTTYNoOperation(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTTY(&buf, "", Options{Now: c.Now})
	w.Event(Event{ID: "Container a-web-1", Text: "Stopping"})
	w.Event(Event{ID: "Container a-web-1", Text: "Stopped", Status: Done})
	w.Event(Event{ID: "Container a-web-1", Text: "Started", Status: Done}) // attached: dropped
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "Container a-web-1 \x1b[32mStopping\x1b[0m \n" +
		"Container a-web-1 \x1b[32mStopped\x1b[0m \n"
	if got := buf.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestTTYBuildSuspends: while an image builds its output owns the
// terminal; the block comes back below it (Compose: tty.go, handle).
func TestTTYBuildSuspends(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTTY(&buf, "build", Options{NoColor: true, Now: c.Now, Size: func() (int, int) { return 40, 24 }})
	w.Event(Event{ID: "Image a-web", Text: "Building"})
	w.repaint()
	if buf.Len() != 0 {
		t.Fatalf("painted during the build: %q", buf.String())
	}
	w.Event(Event{ID: "Image a-web", Text: "Built", Status: Done})
	w.Close()
	if got := visible(buf.String()); got != "[+] build 1/1\n ✔ Image a-web Built                0.0s\n" {
		t.Errorf("after the build: %q", got)
	}
}
