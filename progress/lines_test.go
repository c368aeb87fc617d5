package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPlain(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	w, err := NewWithOptions(&buf, ModePlain, "Running", Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	layer := func(cur int64) Event {
		return Event{ID: "9876fedc5432", ParentID: "web", Text: "Downloading", Current: cur, Total: 3_400_000}
	}
	w.Events([]Event{
		{ID: "Network hello_default", Text: "Creating"},
		{ID: "Network hello_default", Text: "Created", Status: Done},
		{ID: "web", Text: "Pulling"},
		{ID: "9876fedc5432", ParentID: "web", Text: "Pulling fs layer"},
		layer(100_000),
	})
	c.Advance(300 * time.Millisecond)
	w.Event(layer(1_000_000)) // too soon after the last: dropped
	c.Advance(800 * time.Millisecond)
	w.Event(layer(1_200_000)) // a second later: printed
	w.Event(layer(1_200_000)) // exact repeat: dropped
	w.Events([]Event{
		{ID: "9876fedc5432", ParentID: "web", Text: "Pull complete", Status: Done},
		{ID: "web", Text: "Pulled", Status: Done},
		{ID: "Container hello-web-1", Text: "Error", Status: Error, Details: "exit status 1"},
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Event(Event{ID: "late", Text: "Creating"}) // after Close: dropped
	want := "" +
		" Network hello_default  Creating\n" +
		" Network hello_default  Created\n" +
		" web  Pulling\n" +
		" 9876fedc5432  Pulling fs layer\n" +
		" 9876fedc5432  Downloading 100kB/3.4MB\n" +
		" 9876fedc5432  Downloading 1.2MB/3.4MB\n" +
		" 9876fedc5432  Pull complete\n" +
		" web  Pulled\n" +
		" Container hello-web-1  Error exit status 1\n"
	if got := buf.String(); got != want {
		t.Errorf("plain output:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("plain output has escape codes")
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, ModeJSON, "Pulling")
	if err != nil {
		t.Fatal(err)
	}
	w.Events([]Event{
		{ID: "web", Text: "Pulling"},
		{ID: "9876fedc5432", ParentID: "web", Text: "Downloading", Current: 1_700_000, Total: 3_400_000},
		{ID: "9876fedc5432", ParentID: "web", Text: "Downloading", Current: 1_700_000, Total: 3_400_000},
		{ID: "Container a-web-1", Text: "Error", Status: Error, Details: `exec: "x": not found`},
		{ID: "Container a-job-1", Text: "Skipped", Status: Warning},
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"id":"web","status":"Working","text":"Pulling"}
{"id":"9876fedc5432","parent_id":"web","status":"Working","text":"Downloading","current":1700000,"total":3400000,"percent":50}
{"id":"9876fedc5432","parent_id":"web","status":"Working","text":"Downloading","current":1700000,"total":3400000,"percent":50}
{"id":"Container a-web-1","status":"Error","text":"Error","details":"exec: \"x\": not found"}
{"id":"Container a-job-1","status":"Warning","text":"Skipped"}
`
	if got := buf.String(); got != want {
		t.Errorf("json output:\n%s\nwant:\n%s", got, want)
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// TestWriteErrors: a broken output never panics and Close reports it.
func TestWriteErrors(t *testing.T) {
	for _, mode := range []Mode{ModePlain, ModeJSON, ModeTTY} {
		t.Run(string(mode), func(t *testing.T) {
			w, err := NewWithOptions(failingWriter{}, mode, "Running", Options{Size: func() (int, int) { return 80, 0 }})
			if err != nil {
				t.Fatal(err)
			}
			w.Event(Event{ID: "Container a-web-1", Text: "Created", Status: Done})
			w.Event(Event{ID: "Container a-db-1", Text: "Created", Status: Done})
			if err := w.Close(); !errors.Is(err, errDiskFull) {
				t.Errorf("Close = %v, want the write error", err)
			}
		})
	}
}
