package watch

import (
	"context"
	"slices"
	"testing"
	"time"
)

var testDebounce = Debounce{Quiet: 10 * time.Millisecond, MaxQuiet: 200 * time.Millisecond, MaxDelay: 5 * time.Second}

func TestPendingDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	var p pending
	p.add("/a", t0)
	if got := p.due(testDebounce); !got.Equal(ms(10)) {
		t.Fatalf("one path: due %v after start, want 10ms", got.Sub(t0))
	}
	// The same path again only moves the deadline.
	p.add("/a", ms(4))
	if got := p.due(testDebounce); !got.Equal(ms(14)) {
		t.Fatalf("same path: due %v, want 14ms", got.Sub(t0))
	}
	// More paths: a longer quiet period, so a storm's pauses do not split it.
	p.add("/b", ms(5))
	p.add("/c", ms(6))
	if got := p.due(testDebounce); !got.Equal(ms(36)) {
		t.Fatalf("three paths: due %v, want 36ms", got.Sub(t0))
	}
	for i := 0; i < 1000; i++ {
		p.add("/f"+string(rune('a'+i%26))+time.Duration(i).String(), ms(7))
	}
	if got := p.due(testDebounce); !got.Equal(ms(207)) {
		t.Fatalf("a storm: due %v, want the 200ms cap", got.Sub(t0))
	}
	// A path that never stops changing is still sent after MaxDelay.
	p.add("/a", ms(4990))
	if got := p.due(testDebounce); !got.Equal(ms(5000)) {
		t.Fatalf("endless changes: due %v, want 5s", got.Sub(t0))
	}
	paths := p.take()
	if len(paths) != 1003 || paths[0] != "/a" || paths[1] != "/b" {
		t.Fatalf("take: %d paths, first %q", len(paths), paths[:2])
	}
	if len(p.paths) != 0 || p.seen != nil {
		t.Fatal("take did not empty the batch")
	}
}

// Paths sent together come out as one batch, each once; a later change
// starts a new one.
func TestBatch(t *testing.T) {
	in := make(chan string)
	out := Batch(t.Context(), in, testDebounce)
	for _, p := range []string{"/a", "/b", "/a", "/c"} {
		in <- p
	}
	select {
	case got := <-out:
		if !slices.Equal(got, []string{"/a", "/b", "/c"}) {
			t.Fatalf("batch %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no batch")
	}
	in <- "/d"
	close(in)
	got, ok := <-out
	if !ok || !slices.Equal(got, []string{"/d"}) {
		t.Fatalf("second batch %q, %v", got, ok)
	}
	if _, ok := <-out; ok {
		t.Fatal("out not closed after in")
	}
}

func TestBatchEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	out := Batch(ctx, make(chan string), testDebounce)
	cancel()
	select {
	case _, ok := <-out:
		if ok {
			t.Fatal("a batch from nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("out not closed after cancel")
	}
}
