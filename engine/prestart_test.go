package engine

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/composer-dev/compose/engine/record"
)

// fakePrepared is a prepared container whose start result is given.
func fakePrepared(t *testing.T, name string, result error) (*prepared, *os.File) {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	p := &prepared{rec: &record.Record{Name: name}, gate: wr, done: make(chan error, 1)}
	p.done <- result
	return p, rd
}

func TestAheadSet(t *testing.T) {
	order := []slotKey{{"db", 1}, {"web", 1}, {"web", 2}, {"broken", 1}}
	a := newAheadSet(order, 0)
	var mu sync.Mutex
	var created []slotKey
	gates := map[slotKey]*os.File{}
	boom := errors.New("boom")
	a.launch(func(k slotKey) (*prepared, error) {
		mu.Lock()
		defer mu.Unlock()
		created = append(created, k)
		if k.service == "broken" {
			return nil, boom
		}
		p, rd := fakePrepared(t, k.service, nil)
		gates[k] = rd
		return p, nil
	})
	p, err := a.take(t.Context(), "db", 1)
	if err != nil || p == nil {
		t.Fatalf("take db-1: %v %v", p, err)
	}
	if err := p.release(); err != nil {
		t.Fatal(err)
	}
	a.started()
	var b [1]byte
	mu.Lock()
	dbGate := gates[slotKey{"db", 1}]
	mu.Unlock()
	if n, _ := dbGate.Read(b[:]); n != 1 {
		t.Error("release did not open the gate")
	}
	if _, err := a.take(t.Context(), "broken", 1); !errors.Is(err, boom) {
		t.Errorf("a failed creation: %v", err)
	}
	if p, err := a.take(t.Context(), "other", 1); p != nil || err != nil {
		t.Errorf("a slot never planned: %v %v", p, err)
	}
	// web-1 and web-2 are never taken: cancelling closes their gates.
	a.cancelRest()
	for _, k := range []slotKey{{"web", 1}, {"web", 2}} {
		if gates[k] == nil {
			t.Fatalf("%v was not created ahead", k)
		}
		if n, _ := gates[k].Read(b[:]); n != 0 {
			t.Errorf("%v: cancelled gate gave a byte", k)
		}
	}
	if len(created) != len(order) {
		t.Errorf("created %v, want %v", created, order)
	}
}

// TestAheadSetCancelled: a take waiting for a slot returns when the up is
// cancelled, and cancelRest ends even with slots never launched.
func TestAheadSetCancelled(t *testing.T) {
	a := newAheadSet([]slotKey{{"web", 1}}, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.take(ctx, "web", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("take after cancel: %v", err)
	}
	a.stopped.Do(func() { close(a.stop) }) // stopped before launching anything
	a.launch(func(k slotKey) (*prepared, error) {
		t.Errorf("%v launched after stop", k)
		return nil, nil
	})
	a.cancelRest()
}
