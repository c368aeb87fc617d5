package logs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/composer-dev/compose/logs/jsonfile"
)

func newTestWriter(t *testing.T, path string, opts jsonfile.WriterOptions) *jsonfile.Writer {
	t.Helper()
	w, err := jsonfile.NewWriter(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func readAll(t *testing.T, path string, opts ReadOptions) []Entry {
	t.Helper()
	var got []Entry
	err := Read(t.Context(), path, opts, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got
}

// short abbreviates long strings in failure messages.
func short(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(s) > 40 {
			s = fmt.Sprintf("%s…(%d bytes)", s[:20], len(s))
		}
		out = append(out, s)
	}
	return out
}

func lines(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Stream+":"+e.Line)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tick := 0
	w := newTestWriter(t, path, jsonfile.WriterOptions{Now: func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) }})
	out, errs := w.Stream("stdout"), w.Stream("stderr")
	long := strings.Repeat("é", 20000) // 40000 bytes, cut mid-rune by the 16 KiB split
	fmt.Fprint(out, "one\ntwo\n")
	fmt.Fprint(errs, "oops\n")
	fmt.Fprint(out, long+"\n")
	fmt.Fprint(out, "\x00\"quoted\"\\ and ünïcode\n")
	fmt.Fprint(errs, "no newline")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, path, ReadOptions{Tail: -1})
	want := []string{"stdout:one", "stdout:two", "stderr:oops", "stdout:" + long, "stdout:\x00\"quoted\"\\ and ünïcode", "stderr:no newline"}
	if fmt.Sprint(lines(got)) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", short(lines(got)), short(want))
	}
	if !got[0].Time.Equal(base.Add(time.Second)) || !got[2].Time.Equal(base.Add(3*time.Second)) {
		t.Errorf("times = %v, %v", got[0].Time, got[2].Time)
	}
}

func TestReadMissingFile(t *testing.T) {
	if got := readAll(t, filepath.Join(t.TempDir(), "none.log"), ReadOptions{Tail: -1}); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}

func TestReadSkipsCorruptLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	content := `{"log":"a\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}
garbage
{"log":"half
{"log":"b\n","stream":"stdout","time":"2026-01-01T00:00:01Z"}

{"log":1,"stream":"stdout"}
` + "\x00\xff\n" + `{"log":"c\n","stream":"stderr","time":"2026-01-01T00:00:02Z"}
{"log":"trunc`
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tail := range []int{-1, 3, 100} {
		got := readAll(t, path, ReadOptions{Tail: tail})
		want := []string{"stdout:a", "stdout:b", "stderr:c"}
		if tail == 3 {
			want = []string{"stderr:c"} // the last 3 lines are "\x00\xff", c and the truncated one
		}
		if fmt.Sprint(lines(got)) != fmt.Sprint(want) {
			t.Errorf("tail %d: got %q, want %q", tail, lines(got), want)
		}
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	s := w.Stream("stdout")
	const n = 50000 // several MB, many 32 KiB back-scan chunks
	for i := range n {
		fmt.Fprintf(s, "line %d %s\n", i, strings.Repeat("p", i%50))
	}
	w.Close()
	for _, k := range []int{0, 1, 10, 1000, n, n + 5} {
		got := readAll(t, path, ReadOptions{Tail: k})
		if len(got) != min(k, n) {
			t.Fatalf("tail %d: %d entries", k, len(got))
		}
		for i, e := range got {
			j := n - len(got) + i
			if want := fmt.Sprintf("line %d %s", j, strings.Repeat("p", j%50)); e.Line != want {
				t.Fatalf("tail %d entry %d = %q, want %q", k, i, e.Line, want)
			}
		}
	}
}

func TestTailOffset(t *testing.T) {
	tests := []struct {
		content string
		n       int
		off     int64
		found   int
	}{
		{"a\nb\nc\n", 1, 4, 1},
		{"a\nb\nc\n", 2, 2, 2},
		{"a\nb\nc\n", 3, 0, 3},
		{"a\nb\nc\n", 4, 0, 3},
		{"a\nb\nc", 1, 4, 1}, // an unterminated last line counts
		{"a\n", 0, 2, 0},
		{"", 3, 0, 0},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		off, found, err := tailOffset(f, int64(len(tt.content)), tt.n)
		f.Close()
		if err != nil || off != tt.off || found != tt.found {
			t.Errorf("tailOffset(%q, %d) = %d, %d, %v; want %d, %d", tt.content, tt.n, off, found, err, tt.off, tt.found)
		}
	}
}

func TestSinceUntil(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := 0
	w := newTestWriter(t, path, jsonfile.WriterOptions{Now: func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Minute) }})
	s := w.Stream("stdout")
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(s, "m%d\n", i) // written at base + i minutes
	}
	w.Close()
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		opts ReadOptions
		want string
	}{
		{"all", ReadOptions{Tail: -1}, "[stdout:m1 stdout:m2 stdout:m3 stdout:m4 stdout:m5]"},
		{"since", ReadOptions{Tail: -1, Since: at(3)}, "[stdout:m3 stdout:m4 stdout:m5]"},
		{"until", ReadOptions{Tail: -1, Until: at(2)}, "[stdout:m1 stdout:m2]"},
		{"both", ReadOptions{Tail: -1, Since: at(2), Until: at(4)}, "[stdout:m2 stdout:m3 stdout:m4]"},
		{"tail then since", ReadOptions{Tail: 2, Since: at(1)}, "[stdout:m4 stdout:m5]"},
		{"until past follows no more", ReadOptions{Tail: -1, Follow: true, Until: at(1)}, "[stdout:m1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(lines(readAll(t, path, tt.opts))); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	fmt.Fprint(w.Stream("stdout"), "a\nb\nc\n")
	w.Close()
	boom := errors.New("boom")
	calls := 0
	err := Read(t.Context(), path, ReadOptions{Tail: -1}, func(Entry) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err = %v after %d calls", err, calls)
	}
}

// follower runs Read with Follow in the background and collects entries.
type follower struct {
	mu      sync.Mutex
	got     []Entry
	changed chan struct{}
	done    atomic.Bool
	result  chan error
}

func startFollow(t *testing.T, ctx context.Context, path string, opts ReadOptions) *follower {
	t.Helper()
	f := &follower{changed: make(chan struct{}, 1), result: make(chan error, 1)}
	opts.Follow = true
	opts.Done = f.done.Load
	go func() {
		f.result <- Read(ctx, path, opts, func(e Entry) error {
			f.mu.Lock()
			f.got = append(f.got, e)
			f.mu.Unlock()
			select {
			case f.changed <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		f.done.Store(true)
		<-f.result
	})
	return f
}

// waitFor waits until the follower has n entries.
func (f *follower) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		have := len(f.got)
		f.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-f.changed:
		case <-deadline:
			t.Fatalf("timed out with %d of %d entries", have, n)
		}
	}
}

// finish reports Done and waits for Read to return.
func (f *follower) finish(t *testing.T) []Entry {
	t.Helper()
	f.done.Store(true)
	select {
	case err := <-f.result:
		f.result <- err // for the cleanup
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return after Done")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	s := w.Stream("stdout")
	fmt.Fprint(s, "old1\nold2\n")
	f := startFollow(t, t.Context(), path, ReadOptions{Tail: 1})
	f.waitFor(t, 1)
	fmt.Fprint(s, "new1\n")
	f.waitFor(t, 2)
	fmt.Fprint(s, "new2\nlast")
	w.Close() // writes "last" as a partial record
	got := f.finish(t)
	want := "[stdout:old2 stdout:new1 stdout:new2 stdout:last]"
	if fmt.Sprint(lines(got)) != want {
		t.Errorf("got %v, want %s", lines(got), want)
	}
}

func TestFollowWaitsForFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later") // the directory does not exist yet either
	path := filepath.Join(dir, "c-json.log")
	f := startFollow(t, t.Context(), path, ReadOptions{Tail: -1})
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	fmt.Fprint(w.Stream("stderr"), "hello\n")
	f.waitFor(t, 1)
	w.Close()
	if got := fmt.Sprint(lines(f.finish(t))); got != "[stderr:hello]" {
		t.Errorf("got %s", got)
	}
}

// TestFollowWakesAtOnce: a line written is read at once (inotify), not on
// the next pollInterval tick; so is a truncation's new first line.
func TestFollowWakesAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, jsonfile.WriterOptions{MaxSize: 400, MaxFiles: 1})
	s := w.Stream("stdout")
	f := startFollow(t, t.Context(), path, ReadOptions{Tail: -1})
	var delays []time.Duration
	for i := range 9 {
		time.Sleep(20 * time.Millisecond) // the follower is waiting again
		start := time.Now()
		fmt.Fprintf(s, "line %d %s\n", i, strings.Repeat("x", 100)) // truncates every few lines
		f.waitFor(t, i+1)
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	if median := delays[len(delays)/2]; median > pollInterval/4 {
		t.Errorf("median wake-up %s (all %v): polling, not inotify", median, delays)
	}
}

// TestFollowDirectoryMadeAgain: the log's directory removed and made again
// (a container recreated under the same path) is watched again.
func TestFollowDirectoryMadeAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c-json.log")
	f := startFollow(t, t.Context(), path, ReadOptions{Tail: -1})
	time.Sleep(20 * time.Millisecond)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	s := w.Stream("stdout")
	fmt.Fprint(s, "one\n")
	f.waitFor(t, 1)
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	fmt.Fprint(s, "two\n")
	f.waitFor(t, 2)
	if d := time.Since(start); d > pollInterval/2 {
		t.Errorf("the second line came after %s: the new directory is not watched", d)
	}
}

func TestFollowDoneWithoutFile(t *testing.T) {
	f := startFollow(t, t.Context(), filepath.Join(t.TempDir(), "never.log"), ReadOptions{Tail: -1})
	if got := f.finish(t); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}

func TestFollowCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	fmt.Fprint(w.Stream("stdout"), "x\n")
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	seen := make(chan struct{}, 1)
	go func() {
		result <- Read(ctx, path, ReadOptions{Tail: -1, Follow: true}, func(Entry) error {
			seen <- struct{}{}
			return nil
		})
	}()
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no entry")
	}
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return after cancel")
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	tests := []struct {
		name     string
		maxFiles int
	}{
		{"rename", 50}, // enough files that nothing is dropped before it is read
		{"truncate", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c-json.log")
			w := newTestWriter(t, path, jsonfile.WriterOptions{MaxSize: 2000, MaxFiles: tt.maxFiles})
			s := w.Stream("stdout")
			f := startFollow(t, t.Context(), path, ReadOptions{Tail: -1})
			const n = 400
			for i := range n {
				fmt.Fprintf(s, "line %d\n", i)
				if tt.maxFiles == 1 {
					// Truncation loses what is not yet read: go in lockstep.
					f.waitFor(t, i+1)
				}
			}
			w.Close()
			got := f.finish(t)
			if len(got) != n {
				t.Fatalf("got %d entries, want %d", len(got), n)
			}
			for i, e := range got {
				if want := fmt.Sprintf("line %d", i); e.Line != want {
					t.Fatalf("entry %d = %q, want %q", i, e.Line, want)
				}
			}
		})
	}
}

// TestReadRotated: the rotated files and the live one read as one log,
// whole or tailed across files.
func TestReadRotated(t *testing.T) {
	for _, maxFiles := range []int{3, 2, 1} {
		t.Run(fmt.Sprint(maxFiles), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c-json.log")
			w := newTestWriter(t, path, jsonfile.WriterOptions{MaxSize: 1000, MaxFiles: maxFiles})
			s := w.Stream("stdout")
			const n = 300
			for i := range n {
				fmt.Fprintf(s, "line %d\n", i)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, path, ReadOptions{Tail: -1})
			if len(got) == 0 || len(got) >= n {
				t.Fatalf("read %d lines", len(got))
			}
			first := n - len(got)
			for i, e := range got {
				if want := fmt.Sprintf("line %d", first+i); e.Line != want {
					t.Fatalf("entry %d = %q, want %q", i, e.Line, want)
				}
			}
			k := min(len(got), 30)
			tail := readAll(t, path, ReadOptions{Tail: k})
			if len(tail) != k || tail[0].Line != fmt.Sprintf("line %d", n-k) || tail[k-1].Line != fmt.Sprintf("line %d", n-1) {
				t.Errorf("tail %d = %v", k, tail)
			}
		})
	}
}

func TestTailSeeksFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, jsonfile.WriterOptions{})
	s := w.Stream("stdout")
	for i := range 20000 {
		fmt.Fprintf(s, "line %d\n", i)
	}
	w.Close()
	r := &reader{path: path}
	files, err := r.openAll()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAll(files) })
	files, err = tailFiles(files, 10)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Only the last ten records (well under 100 bytes each) are left to parse.
	if len(files) != 1 || st.Size()-files[0].off > 1000 {
		t.Errorf("tail starts %d bytes before the end", st.Size()-files[0].off)
	}
}
