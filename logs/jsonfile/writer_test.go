package jsonfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
)

// rawRecords returns the records of one log file as written.
func rawRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func newTestWriter(t *testing.T, path string, opts WriterOptions) *Writer {
	t.Helper()
	w, err := NewWriter(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWriterFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, WriterOptions{})
	w.now = func() time.Time { return time.Date(2026, 11, 24, 5, 40, 22, 123456789, time.FixedZone("x", 3600)) }
	out := w.Stream("stdout")
	fmt.Fprint(out, "hello <world>\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"log":"hello \u003cworld\u003e\n","stream":"stdout","time":"2026-11-24T04:40:22.123456789Z"}` + "\n"
	if string(data) != want {
		t.Errorf("file:\n got %s\nwant %s", data, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&^0o640 != 0 { // the umask may narrow it further
		t.Errorf("mode = %v, want 0640", st.Mode().Perm())
	}
	if _, err := out.Write([]byte("late\n")); err == nil {
		t.Error("write after Close: no error")
	}
}

func TestWriterAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	for _, s := range []string{"one\n", "two\n"} {
		w, err := NewWriter(path, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w.Stream("stdout"), s)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if recs := rawRecords(t, path); len(recs) != 2 || recs[0].Log != "one\n" || recs[1].Log != "two\n" {
		t.Errorf("records = %+v", recs)
	}
}

func TestWriterBadOptions(t *testing.T) {
	_, err := NewWriter(filepath.Join(t.TempDir(), "x.log"), WriterOptions{MaxSize: -1})
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("err = %v, want invalid argument", err)
	}
}

func TestStreamSplitsLines(t *testing.T) {
	long := strings.Repeat("x", 40000)
	tests := []struct {
		name   string
		chunks []string
		want   []string // the "log" field of each record
	}{
		{"one line", []string{"a\n"}, []string{"a\n"}},
		{"two lines one chunk", []string{"a\nb\n"}, []string{"a\n", "b\n"}},
		{"split across chunks", []string{"he", "llo\nwor", "ld\n"}, []string{"hello\n", "world\n"}},
		{"final partial line", []string{"a\nb"}, []string{"a\n", "b"}},
		{"empty lines", []string{"\n\n"}, []string{"\n", "\n"}},
		{"carriage return kept", []string{"a\r\n"}, []string{"a\r\n"}},
		{"long line", []string{long + "\n"}, []string{long[:16384], long[16384:32768], long[32768:] + "\n"}},
		{"long line in pieces", []string{long[:10000], long[10000:] + "\nz\n"},
			[]string{long[:16384], long[16384:32768], long[32768:] + "\n", "z\n"}},
		{"exactly 16k", []string{long[:16384] + "\n"}, []string{long[:16384], "\n"}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c-json.log")
			w := newTestWriter(t, path, WriterOptions{})
			s := w.Stream("stderr")
			for _, c := range tt.chunks {
				if n, err := s.Write([]byte(c)); err != nil || n != len(c) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rawRecords(t, path) {
				if r.Stream != "stderr" {
					t.Errorf("stream = %q", r.Stream)
				}
				got = append(got, r.Log)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("records differ:\n got %q\nwant %q", short(got), short(tt.want))
			}
		})
	}
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

func TestConcurrentStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w := newTestWriter(t, path, WriterOptions{})
	const n = 2000
	var wg sync.WaitGroup
	for _, name := range []string{"stdout", "stderr"} {
		wg.Go(func() {
			s := w.Stream(name)
			var pending string
			for i := range n {
				pending += fmt.Sprintf("%s line %d\n", name, i)
				// Write in odd-sized chunks so lines cross writes.
				for len(pending) > 7 {
					s.Write([]byte(pending[:7]))
					pending = pending[7:]
				}
			}
			s.Write([]byte(pending))
			s.Close()
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	line := regexp.MustCompile(`^(\w+) line (\d+)\n$`)
	for _, r := range rawRecords(t, path) {
		m := line.FindStringSubmatch(r.Log)
		if m == nil || m[1] != r.Stream {
			t.Fatalf("mangled record %+v", r)
		}
		if want := fmt.Sprint(next[r.Stream]); m[2] != want {
			t.Fatalf("%s: got line %s, want %s", r.Stream, m[2], want)
		}
		next[r.Stream]++
	}
	if next["stdout"] != n || next["stderr"] != n {
		t.Errorf("counts = %v", next)
	}
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name     string
		maxFiles int
		want     []string // files expected to exist
		gone     []string
	}{
		{"keep three", 3, []string{"", ".1", ".2"}, []string{".3"}},
		{"keep two", 2, []string{"", ".1"}, []string{".2"}},
		{"truncate", 1, []string{""}, []string{".1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c-json.log")
			const maxSize = 1000
			w := newTestWriter(t, path, WriterOptions{MaxSize: maxSize, MaxFiles: tt.maxFiles})
			s := w.Stream("stdout")
			const n = 300
			for i := range n {
				fmt.Fprintf(s, "line %d\n", i)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for _, suf := range tt.want {
				st, err := os.Stat(path + suf)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > maxSize {
					t.Errorf("%s: size %d > %d", suf, st.Size(), maxSize)
				}
			}
			for _, suf := range tt.gone {
				if _, err := os.Stat(path + suf); !os.IsNotExist(err) {
					t.Errorf("%s exists (err %v)", path+suf, err)
				}
			}
			// The files, oldest first, hold a contiguous run ending at the last line.
			var got []string
			for i := len(tt.want) - 1; i >= 0; i-- {
				for _, r := range rawRecords(t, path+tt.want[i]) {
					got = append(got, r.Log)
				}
			}
			if len(got) == 0 || len(got) >= n {
				t.Fatalf("kept %d lines", len(got))
			}
			first := n - len(got)
			for i, l := range got {
				if want := fmt.Sprintf("line %d\n", first+i); l != want {
					t.Fatalf("record %d = %q, want %q", i, l, want)
				}
			}
		})
	}
}
