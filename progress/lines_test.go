package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestPlain checks plain lines character by character. Docker Compose
// prints each event as fmt.Fprintln(out, prefix, e.ID, e.Text, e.Details)
// (cmd/display/plain.go), so with no dry-run prefix and no details:
//
//	" Container proj-app-1 Started "
//
// a leading space, one space between the operands, a trailing one.
func TestPlain(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, ModePlain, "up")
	if err != nil {
		t.Fatal(err)
	}
	w.Events([]Event{
		{ID: "Network hello_default", Text: "Creating"},
		{ID: "Network hello_default", Text: "Created", Status: Done},
		{ID: "Image busybox", Text: "Pulling"},
		{ID: "9876fedc5432", ParentID: "Image busybox", Text: "Downloading", Current: 1_200_000, Total: 3_400_000,
			Details: Bar(1_200_000, 3_400_000)},
		{ID: "9876fedc5432", ParentID: "Image busybox", Text: "Downloading", Current: 1_200_000, Total: 3_400_000,
			Details: Bar(1_200_000, 3_400_000)}, // every event is printed, repeats too
		{ID: "Image busybox", Text: "Pulled", Status: Done},
		{ID: "Container hello-web-1", Text: "Started", Status: Done},
		{ID: "Container hello-web-1", Text: "Error", Status: Error, Details: "exit status 1"},
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Event(Event{ID: "late", Text: "Creating"}) // after Close: dropped
	bar := "[=================>                                 ]    1.2MB/3.4MB"
	want := "" +
		" Network hello_default Creating \n" +
		" Network hello_default Created \n" +
		" Image busybox Pulling \n" +
		" 9876fedc5432 Downloading " + bar + "\n" +
		" 9876fedc5432 Downloading " + bar + "\n" +
		" Image busybox Pulled \n" +
		" Container hello-web-1 Started \n" +
		" Container hello-web-1 Error exit status 1\n"
	if got := buf.String(); got != want {
		t.Errorf("plain output:\n%q\nwant:\n%q", got, want)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("plain output has escape codes")
	}
}

// TestPlainDryRun: Compose's plain writer puts DRYRUN_PREFIX
// (" DRY-RUN MODE - ", cmd/display/dryrun.go) first among Fprintln's
// operands: " DRY-RUN MODE -  Container x Created ".
func TestPlainDryRun(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWithOptions(&buf, ModePlain, "up", Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Event(Event{ID: "Container hello-web-1", Text: "Created", Status: Done})
	w.Close()
	if got, want := buf.String(), " DRY-RUN MODE -  Container hello-web-1 Created \n"; got != want {
		t.Errorf("dry-run line = %q, want %q", got, want)
	}
}

// TestJSON: Compose's --progress json (cmd/display/json.go) writes every
// event as a jsonMessage with "dry-run", "id", "parent_id", "status",
// "text", "details", "current", "total" and "percent", empty ones left out.
func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, ModeJSON, "pull")
	if err != nil {
		t.Fatal(err)
	}
	w.Events([]Event{
		{ID: "Image busybox", Text: "Pulling"},
		{ID: "9876fedc5432", ParentID: "Image busybox", Text: "Downloading", Current: 1_700_000, Total: 3_400_000, Percent: 50},
		{ID: "Container a-web-1", Text: "Error", Status: Error, Details: `exec: "x": not found`},
		{ID: "Container a-job-1", Text: "Skipped", Status: Warning},
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"id":"Image busybox","status":"Working","text":"Pulling"}
{"id":"9876fedc5432","parent_id":"Image busybox","status":"Working","text":"Downloading","current":1700000,"total":3400000,"percent":50}
{"id":"Container a-web-1","status":"Error","text":"Error","details":"exec: \"x\": not found"}
{"id":"Container a-job-1","status":"Warning","text":"Skipped"}
`
	if got := buf.String(); got != want {
		t.Errorf("json output:\n%s\nwant:\n%s", got, want)
	}

	buf.Reset()
	w, _ = NewWithOptions(&buf, ModeJSON, "up", Options{DryRun: true})
	w.Event(Event{ID: "Container a-web-1", Text: "Created", Status: Done})
	w.Close()
	if got, want := buf.String(), `{"dry-run":true,"id":"Container a-web-1","status":"Done","text":"Created"}`+"\n"; got != want {
		t.Errorf("dry-run json = %q, want %q", got, want)
	}
}

// TestBar: the daemon's JSONProgress.String() as Compose gets it (200
// columns: a 50-cell bar, then "%8v/%v" of go-units' HumanSize).
func TestBar(t *testing.T) {
	tests := []struct {
		current, total int64
		want           string
	}{
		{0, 0, ""},
		{500, 0, "    500B"},
		{0, 3_400_000, "[>                                                  ]       0B/3.4MB"},
		{1_700_000, 3_400_000, "[=========================>                         ]    1.7MB/3.4MB"},
		{3_400_000, 3_400_000, "[==================================================>]    3.4MB/3.4MB"},
		{5_000_000, 3_400_000, "[==================================================>]      5MB"},
	}
	for _, tt := range tests {
		if got := Bar(tt.current, tt.total); got != tt.want {
			t.Errorf("Bar(%d, %d) = %q, want %q", tt.current, tt.total, got, tt.want)
		}
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// TestWriteErrors: a broken output never panics and Close reports it.
func TestWriteErrors(t *testing.T) {
	for _, mode := range []Mode{ModePlain, ModeJSON, ModeTTY} {
		t.Run(string(mode), func(t *testing.T) {
			w, err := NewWithOptions(failingWriter{}, mode, "up", Options{Size: func() (int, int) { return 80, 24 }})
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
