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
	return newTTY(out, "Running", Options{
		NoColor: !color,
		Now:     c.Now,
		Size:    func() (int, int) { return width, height },
	})
}

func TestTTYFrames(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 60, 0, false)

	w.Events([]Event{
		{ID: "Network hello_default", Text: "Creating"},
		{ID: "Container hello-web-1", Text: "Creating"},
	})
	c.Advance(100 * time.Millisecond)
	w.draw()
	w.Event(Event{ID: "Network hello_default", Text: "Created", Status: Done})
	c.Advance(200 * time.Millisecond)
	w.Event(Event{ID: "Container hello-web-1", Text: "Started", Status: Done})
	c.Advance(time.Second) // finished tasks keep their time
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	want := "" +
		// first frame: nothing to move back over
		"\x1b[?25l" +
		"\r[+] Running 0/2\x1b[K\n" +
		"\r ⠙ Network hello_default  Creating                     0.1s\x1b[K\n" +
		"\r ⠙ Container hello-web-1  Creating                     0.1s\x1b[K\n" +
		"\x1b[?25h" +
		// final frame, drawn over the first
		"\x1b[?25l\x1b[3A" +
		"\r[+] Running 2/2\x1b[K\n" +
		"\r ✔ Network hello_default  Created                      0.1s\x1b[K\n" +
		"\r ✔ Container hello-web-1  Started                      0.3s\x1b[K\n" +
		"\x1b[?25h"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestTTYColor(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 50, 0, true)
	w.Events([]Event{
		{ID: "Container a-db-1", Text: "Started", Status: Done},
		{ID: "Container a-web-1", Text: "Error", Status: Error, Details: "exit 1"},
		{ID: "Container a-job-1", Text: "Skipped", Status: Warning},
		{ID: "Container a-api-1", Text: "Starting"},
	})
	got := strings.Join(w.frame(c.Now(), 50, 0), "\n")
	want := "" +
		"[+] Running 3/4\n" +
		" \x1b[32m✔\x1b[0m Container a-db-1   \x1b[32mStarted\x1b[0m                \x1b[34m0.0s\x1b[0m\n" +
		" \x1b[31;1m✘\x1b[0m Container a-web-1  \x1b[31;1mError\x1b[0m exit 1           \x1b[34m0.0s\x1b[0m\n" +
		" \x1b[33;1m!\x1b[0m Container a-job-1  \x1b[33;1mSkipped\x1b[0m                \x1b[34m0.0s\x1b[0m\n" +
		" \x1b[33m⠋\x1b[0m Container a-api-1  Starting               \x1b[34m0.0s\x1b[0m"
	if got != want {
		t.Errorf("frame:\n%q\nwant:\n%q", got, want)
	}
	w.Event(Event{ID: "Container a-api-1", Text: "Started", Status: Done})
	if got := w.frame(c.Now(), 50, 0)[0]; got != "\x1b[34m[+] Running 4/4\x1b[0m" {
		t.Errorf("header when all are finished = %q, want it blue", got)
	}
}

func TestTTYPullLayers(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 80, 0, false)
	w.Events([]Event{
		{ID: "web", Text: "Pulling"},
		{ID: "db", Text: "Pulling"},
		{ID: "1234abcd5678", ParentID: "web", Text: "Pulling fs layer"},
		{ID: "9876fedc5432", ParentID: "web", Text: "Downloading", Current: 1_200_000, Total: 3_400_000},
		{ID: "9876fedc5432", ParentID: "web", Text: "Downloading", Current: 1_000_000, Total: 3_400_000}, // late, out of order
		{ID: "aaaabbbbcccc", ParentID: "db", Text: "Downloading", Current: 500},
		{ID: "aaaabbbbcccc", ParentID: "web", Text: "Already exists", Status: Done}, // shared layer: first parent wins
	})
	c.Advance(1500 * time.Millisecond)
	w.Event(Event{ID: "1234abcd5678", ParentID: "web", Text: "Pull complete", Status: Done})
	got := w.frame(c.Now(), 80, 0)
	want := []string{
		"[+] Running 0/2",
		" ⠴ web             Pulling                                                 1.5s",
		"   ✔ 1234abcd5678  Pull complete                                           1.5s",
		"   ⠴ 9876fedc5432  Downloading [=======>            ] 1.2MB/3.4MB          1.5s",
		" ⠴ db              Pulling                                                 1.5s",
		"   ⠴ aaaabbbbcccc  Downloading 500B                                        1.5s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A new step starts its own byte count; a finished layer drops its bar.
	w.Event(Event{ID: "9876fedc5432", ParentID: "web", Text: "Extracting", Current: 100, Total: 3_400_000})
	if l := w.frame(c.Now(), 80, 0)[3]; !strings.Contains(l, "Extracting [>                   ] 100B/3.4MB") {
		t.Errorf("extracting line = %q", l)
	}
	w.Event(Event{ID: "9876fedc5432", ParentID: "web", Text: "Pull complete", Status: Done, Current: 3_400_000, Total: 3_400_000})
	if l := w.frame(c.Now(), 80, 0)[3]; strings.Contains(l, "[") || strings.Contains(l, "MB") {
		t.Errorf("finished layer still shows progress: %q", l)
	}
}

var escape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestTTYNeverWraps checks that every line of a busy frame fits the
// terminal, from a tiny one to a normal one.
func TestTTYNeverWraps(t *testing.T) {
	for _, width := range []int{1, 5, 12, 25, 40, 61, 80, 132} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var buf bytes.Buffer
			c := newClock()
			w := newTestTTY(&buf, c, width, 0, true)
			w.Events([]Event{
				{ID: "web", Text: "Pulling"},
				{ID: "9876fedc5432", ParentID: "web", Text: "Downloading", Current: 12_345_678, Total: 45_678_901},
				{ID: "Container a-very-long-project-name-with-a-service-1", Text: "Error", Status: Error,
					Details: "failed to create task: exec: \"nope\": executable file not found in $PATH"},
			})
			c.Advance(123 * time.Second)
			for _, l := range w.frame(c.Now(), width, 0) {
				plain := escape.ReplaceAllString(l, "")
				if n := utf8.RuneCountInString(plain); n > max(width-1, 0) {
					t.Errorf("line of %d columns on a %d-column terminal: %q", n, width, plain)
				}
			}
		})
	}
}

func TestTTYTruncates(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 40, 0, false)
	w.Event(Event{ID: "Container x-web-1", Text: "Error", Status: Error, Details: "exec: \"nope\": executable file not found"})
	got := w.frame(c.Now(), 40, 0)[1]
	if want := " ✘ Container x-web-1  Error exe... 0.0s"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
	// Too narrow for the timer: keep the words.
	got = w.frame(c.Now(), 20, 0)[1]
	if want := " ✘ Container x-w..."; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

func TestTTYShortTerminal(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w := newTestTTY(&buf, c, 40, 6, false)
	w.Event(Event{ID: "web", Text: "Pulling"})
	w.Event(Event{ID: "0123456789ab", ParentID: "web", Text: "Waiting"})
	for i := range 5 {
		w.Event(Event{ID: fmt.Sprintf("Container p-s%d-1", i), Text: "Created", Status: Done})
	}
	got := w.frame(c.Now(), 40, 6)
	want := []string{
		"[+] Running 5/6",
		" ⠋ web               Pulling       0.0s",
		" ✔ Container p-s0-1  Created       0.0s",
		" ✔ Container p-s1-1  Created       0.0s",
		" ... 3 more",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTTYShrinkingFrame clears what a shorter frame leaves of a taller one.
func TestTTYShrinkingFrame(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	height := 0
	w := newTTY(&buf, "Running", Options{NoColor: true, Now: c.Now, Size: func() (int, int) { return 30, height }})
	w.Event(Event{ID: "web", Text: "Pulling"})
	w.Event(Event{ID: "0123456789ab", ParentID: "web", Text: "Waiting"})
	w.draw()
	buf.Reset()
	height = 3 // the terminal got shorter: children go
	w.draw()
	want := "\x1b[?25l\x1b[3A" +
		"\r[+] Running 0/1\x1b[K\n" +
		"\r ⠋ web  Pulling          0.0s\x1b[K\n" +
		"\x1b[J\x1b[?25h"
	if got := buf.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestTTYLoop drives the redraw loop with a hand-made ticker: it draws when
// something changed or works, and stays silent once all is finished.
func TestTTYLoop(t *testing.T) {
	out := &syncBuffer{}
	c := newClock()
	w := newTTY(out, "Running", Options{NoColor: true, Now: c.Now, Size: func() (int, int) { return 40, 0 }})
	tick := make(chan time.Time)
	stopped := make(chan struct{})
	w.start(tick, func() { close(stopped) })
	t.Cleanup(func() { w.Close() })

	// An unbuffered send returns once the loop took the tick, so after two
	// sends the first tick's redraw is complete.
	ticks := func(n int) {
		for range n {
			tick <- c.Now()
		}
	}
	ticks(2)
	if out.String() != "" {
		t.Fatalf("drew with no events: %q", out.String())
	}
	w.Event(Event{ID: "Container a-web-1", Text: "Starting"})
	ticks(2)
	first := out.String()
	if !strings.Contains(first, "⠋ Container a-web-1  Starting") {
		t.Fatalf("no frame after an event: %q", first)
	}
	c.Advance(100 * time.Millisecond) // a working task animates
	ticks(2)
	if !strings.Contains(strings.TrimPrefix(out.String(), first), "⠙ Container a-web-1  Starting") {
		t.Fatalf("spinner did not move: %q", out.String())
	}
	w.Event(Event{ID: "Container a-web-1", Text: "Started", Status: Done})
	ticks(2)
	idle := out.String()
	if !strings.Contains(idle, "✔ Container a-web-1  Started") {
		t.Fatalf("no frame for the finished task: %q", idle)
	}
	ticks(3)
	if out.String() != idle {
		t.Errorf("redrew with nothing changing: %q", strings.TrimPrefix(out.String(), idle))
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
			w, err := NewWithOptions(out, mode, "Running", Options{Size: func() (int, int) { return 80, 0 }})
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
			if mode == ModeTTY && !strings.Contains(got, "[+] Running 8/8") {
				t.Errorf("final frame missing: %q", got[max(len(got)-300, 0):])
			}
		})
	}
}
