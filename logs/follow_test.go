package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/composer-dev/compose/logs/jsonfile"
)

// lockedBuffer lets the test read output while Follow is writing it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// linesOf returns, per prefix name, the printed lines in order.
func linesOf(out string) map[string][]string {
	got := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		name, text, ok := strings.Cut(l, " | ")
		if ok {
			name = strings.TrimSpace(name)
			got[name] = append(got[name], text)
		}
	}
	return got
}

func TestFollowAllRead(t *testing.T) {
	dir := t.TempDir()
	var sources []Source
	for _, name := range []string{"web-1", "client-1"} {
		path := filepath.Join(dir, name+".log")
		w := newTestWriter(t, path, jsonfile.WriterOptions{})
		s := w.Stream("stdout")
		for i := range 100 {
			fmt.Fprintf(s, "%s %d\n", name, i)
		}
		w.Close()
		sources = append(sources, Source{Name: name, Path: path})
	}
	sources = append(sources, Source{Name: "none-1", Path: filepath.Join(dir, "missing.log")})
	var out bytes.Buffer
	p := NewPrinter(&out, PrinterOptions{Prefix: true})
	if err := Follow(t.Context(), p, sources, ReadOptions{Tail: 3}); err != nil {
		t.Fatal(err)
	}
	got := linesOf(out.String())
	if fmt.Sprint(got["web-1"]) != "[web-1 97 web-1 98 web-1 99]" || fmt.Sprint(got["client-1"]) != "[client-1 97 client-1 98 client-1 99]" {
		t.Errorf("got %v", got)
	}
	if !strings.Contains(out.String(), "web-1     | web-1 97\n") {
		t.Errorf("prefix not padded to the longest name:\n%s", out.String())
	}
}

func TestFollowUntilDone(t *testing.T) {
	dir := t.TempDir()
	type src struct {
		w    *jsonfile.Writer
		done atomic.Bool
	}
	names := []string{"a-1", "b-1"}
	srcs := map[string]*src{}
	var sources []Source
	for _, name := range names {
		path := filepath.Join(dir, name+".log")
		s := &src{w: newTestWriter(t, path, jsonfile.WriterOptions{MaxSize: 1500, MaxFiles: 100})}
		srcs[name] = s
		sources = append(sources, Source{Name: name, Path: path, Done: s.done.Load})
	}
	out := &lockedBuffer{}
	p := NewPrinter(out, PrinterOptions{Prefix: true})
	result := make(chan error, 1)
	go func() { result <- Follow(t.Context(), p, sources, ReadOptions{Tail: -1, Follow: true}) }()
	t.Cleanup(func() {
		for _, s := range srcs {
			s.done.Store(true)
		}
	})

	const n = 200
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			st := srcs[name].w.Stream("stdout")
			for i := range n {
				fmt.Fprintf(st, "%d\n", i)
			}
			srcs[name].w.Close()
			srcs[name].done.Store(true)
		})
	}
	wg.Wait()
	select {
	case err := <-result:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return once all sources were done")
	}
	got := linesOf(out.String())
	for _, name := range names {
		if len(got[name]) != n {
			t.Fatalf("%s: %d lines", name, len(got[name]))
		}
		for i, l := range got[name] {
			if l != fmt.Sprint(i) {
				t.Fatalf("%s line %d = %q", name, i, l)
			}
		}
	}
}

func TestFollowCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := NewPrinter(&bytes.Buffer{}, PrinterOptions{})
	result := make(chan error, 1)
	go func() {
		result <- Follow(ctx, p, []Source{{Name: "x-1", Path: filepath.Join(t.TempDir(), "x.log")}}, ReadOptions{Tail: -1, Follow: true})
	}()
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after cancel")
	}
}
