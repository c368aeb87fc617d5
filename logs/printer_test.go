package logs

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPrinterGolden(t *testing.T) {
	ts := time.Date(2026, 11, 24, 5, 40, 22, 123456789, time.UTC)
	round := time.Date(2026, 11, 24, 5, 40, 22, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		opts PrinterOptions
		want string
	}{
		{"plain", PrinterOptions{Prefix: true},
			"web-1     | hello\n" +
				"client-1  | hi\n" +
				"web-1     | \n" +
				"web-1 exited with code 0\n"},
		{"colour", PrinterOptions{Prefix: true, Color: true},
			"\x1b[36mweb-1     | \x1b[0mhello\n" +
				"\x1b[33mclient-1  | \x1b[0mhi\n" +
				"\x1b[36mweb-1     | \x1b[0m\n" +
				"\x1b[36mweb-1 exited with code 0\n\x1b[0m"},
		{"timestamps", PrinterOptions{Prefix: true, Timestamps: true},
			"web-1     | 2026-11-24T05:40:22.123456789Z hello\n" +
				"client-1  | 2026-11-24T04:40:22.000000000Z hi\n" +
				"web-1     | 2026-11-24T05:40:22.123456789Z \n" +
				"web-1 exited with code 0\n"},
		{"no prefix", PrinterOptions{},
			"hello\nhi\n\nweb-1 exited with code 0\n"},
		{"no prefix colour", PrinterOptions{Color: true},
			"hello\nhi\n\n\x1b[36mweb-1 exited with code 0\n\x1b[0m"},
		{"no prefix timestamps", PrinterOptions{Timestamps: true},
			"2026-11-24T05:40:22.123456789Z hello\n" +
				"2026-11-24T04:40:22.000000000Z hi\n" +
				"2026-11-24T05:40:22.123456789Z \n" +
				"web-1 exited with code 0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := NewPrinter(&out, tt.opts)
			p.Register("web-1", "client-1")
			p.Print("web-1", Entry{Stream: "stdout", Time: ts, Line: "hello"})
			p.Print("client-1", Entry{Stream: "stderr", Time: round, Line: "hi"})
			p.Print("web-1", Entry{Stream: "stdout", Time: ts, Line: ""})
			p.Event("web-1", "web-1 exited with code 0")
			if out.String() != tt.want {
				t.Errorf("output:\n got %q\nwant %q", out.String(), tt.want)
			}
		})
	}
}

func TestPrinterColourCycle(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, PrinterOptions{Color: true, Prefix: true})
	var names []string
	for i := range 11 {
		names = append(names, fmt.Sprintf("s%d-1", i))
	}
	p.Register(names...)
	p.Register("s0-1") // registering again keeps the colour
	for _, n := range names {
		p.Print(n, Entry{Line: "x"})
	}
	codes := regexp.MustCompile(`(?m)^\x1b\[([0-9;]+)m`).FindAllStringSubmatch(out.String(), -1)
	var got []string
	for _, c := range codes {
		got = append(got, c[1])
	}
	want := "[36 33 32 35 34 36;1 33;1 32;1 35;1 34;1 36]"
	if fmt.Sprint(got) != want {
		t.Errorf("colours = %v, want %s", got, want)
	}
}

func TestPrinterWidthGrowsAndUnregistered(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, PrinterOptions{Prefix: true})
	p.Print("a-1", Entry{Line: "one"})
	p.Print("longer-name-1", Entry{Line: "two"})
	p.Print("a-1", Entry{Line: "three\nfour"})
	want := "a-1  | one\n" +
		"longer-name-1  | two\n" +
		"a-1            | three\n" +
		"a-1            | four\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

func TestPrinterStderr(t *testing.T) {
	var out, errOut bytes.Buffer
	p := NewPrinter(&out, PrinterOptions{Prefix: true, Stderr: &errOut})
	p.Print("web-1", Entry{Stream: "stdout", Line: "o"})
	p.Print("web-1", Entry{Stream: "stderr", Line: "e"})
	if out.String() != "web-1  | o\n" || errOut.String() != "web-1  | e\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}

func TestPrinterConcurrent(t *testing.T) {
	var out bytes.Buffer // the printer serialises writes, so no extra lock
	p := NewPrinter(&out, PrinterOptions{Prefix: true, Color: true, Timestamps: true})
	names := []string{"web-1", "db-1", "cache-1", "worker-1"}
	p.Register(names...)
	const n = 300
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			for i := range n {
				p.Print(name, Entry{Time: time.Now(), Line: fmt.Sprintf("%s says %d %s", name, i, strings.Repeat("z", i))})
			}
		})
	}
	wg.Wait()
	re := regexp.MustCompile(`^\x1b\[[0-9;]+m(\S+)\s+\| \x1b\[0m\S+Z (\S+) says (\d+) z*$`)
	next := map[string]int{}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, line := range got {
		m := re.FindStringSubmatch(line)
		if m == nil || m[1] != m[2] {
			t.Fatalf("mangled line %q", line)
		}
		if fmt.Sprint(next[m[1]]) != m[3] {
			t.Fatalf("%s: out of order at %s", m[1], m[3])
		}
		next[m[1]]++
	}
	if len(got) != n*len(names) {
		t.Errorf("%d lines", len(got))
	}
}

// TestPrinterWatch: `up --watch` lines as Docker Compose prints them: the
// prefix column (widened for "#watch") blank, then " ⦿ ", in bright green.
func TestPrinterWatch(t *testing.T) {
	for _, tc := range []struct {
		opts PrinterOptions
		want string
	}{
		{PrinterOptions{Prefix: true}, "        ⦿ Watch enabled\napp-1   | hi\n        ⦿ Syncing\n"},
		{PrinterOptions{Prefix: true, Color: true}, "\x1b[92m        ⦿ \x1b[0mWatch enabled\n\x1b[36mapp-1   | \x1b[0mhi\n\x1b[92m        ⦿ \x1b[0mSyncing\n"},
		{PrinterOptions{}, "Watch enabled\nhi\nSyncing\n"},
	} {
		var b bytes.Buffer
		p := NewPrinter(&b, tc.opts)
		p.Watch("Watch enabled")
		p.Print("app-1", Entry{Line: "hi"})
		p.Watch("Syncing")
		if b.String() != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.opts, b.String(), tc.want)
		}
	}
	// A name longer than "#watch" widens the column for both.
	var b bytes.Buffer
	p := NewPrinter(&b, PrinterOptions{Prefix: true})
	p.Register("backend-1")
	p.Watch("x")
	if want := "           ⦿ x\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// A hook's lines are shown under "web-1 ->" (post_start, pre_stop) or
// "web pre_start[0] ->", in the colour of the name before the space, and
// count in the width of the prefix column: Docker Compose's log consumer
// registers them so (cmd/formatter/logs.go register: `root, _, found :=
// strings.Cut(name, " ")` ... `colors: parent.colors`).
func TestPrinterHookSources(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, PrinterOptions{Prefix: true, Color: true})
	p.Register("web-1", "db-1")
	p.Print("web-1 ->", Entry{Line: "hooked"})
	p.Print("db-1", Entry{Line: "ready"})
	p.Print("db pre_start[0] ->", Entry{Line: "migrated"})
	want := "\x1b[36mweb-1 ->  | \x1b[0mhooked\n" +
		"\x1b[33mdb-1      | \x1b[0mready\n" +
		// "db" is registered as Compose does: it takes the next colour,
		// which the hook's lines then share.
		"\x1b[32mdb pre_start[0] ->  | \x1b[0mmigrated\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}
