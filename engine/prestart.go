package engine

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/project"
)

// prepared is a container created ahead of its turn: its supervisor has
// set it up (namespaces, mounts, network) and waits at the start gate, so
// starting it in dependency order costs only its process's exec. This is
// Docker Compose's create-all-then-start-in-order, without the wait for
// one container's setup before the next one's begins.
type prepared struct {
	rec  *record.Record
	gate *os.File   // the gate's write end: a byte starts it, closing cancels
	done chan error // the result of the start
}

// prepare creates r ahead and leaves it at its start gate.
func (e *Engine) prepare(ctx context.Context, r *record.Record) (*prepared, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p := &prepared{rec: r, gate: wr, done: make(chan error, 1)}
	go func() {
		err := e.runtime.StartGated(ctx, r.Spec, rd)
		rd.Close()
		p.done <- err
	}()
	return p, nil
}

// release starts the prepared container's process and waits until it runs.
func (p *prepared) release() error {
	_, werr := p.gate.Write([]byte{1})
	p.gate.Close()
	err := <-p.done
	if err == nil {
		err = werr
	}
	return err
}

// cancel abandons the start: the container stays created, as Docker
// leaves the containers of an up that failed.
func (p *prepared) cancel() {
	p.gate.Close()
	<-p.done
}

// aheadLimit bounds the containers waiting at their gates at once: each
// holds a __create and an init process, so a large project must not
// prepare all its containers together. A few ahead keep the CPUs busy.
func aheadLimit() int { return 2*runtime.NumCPU() + 2 }

type slotKey struct {
	service string
	number  int
}

// aheadSlot is one container being created ahead.
type aheadSlot struct {
	done chan struct{} // closed when p or err is set, or the launch was abandoned
	p    *prepared
	err  error
}

// aheadSet creates new containers ahead, in dependency order, at most
// aheadLimit at a time; the walk takes them over as their turn comes. The
// order being topological, what the walk waits for never waits for a slot
// behind it.
type aheadSet struct {
	order   []slotKey
	list    []*aheadSlot // the slots of order, for the launcher
	mu      sync.Mutex
	slots   map[slotKey]*aheadSlot
	sem     chan struct{}
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{} // closed when the launcher returns
}

// newAheadSet prepares the slots of order, at most limit at once (<= 0 or
// more than aheadLimit: aheadLimit).
func newAheadSet(order []slotKey, limit int) *aheadSet {
	if limit <= 0 || limit > aheadLimit() {
		limit = aheadLimit()
	}
	a := &aheadSet{order: order, slots: map[slotKey]*aheadSlot{}, sem: make(chan struct{}, limit), stop: make(chan struct{}), done: make(chan struct{})}
	for _, k := range order {
		sl := &aheadSlot{done: make(chan struct{})}
		a.slots[k] = sl
		a.list = append(a.list, sl)
	}
	return a
}

// launch creates the slots in order, in the background.
func (a *aheadSet) launch(create func(slotKey) (*prepared, error)) {
	go func() {
		defer close(a.done)
		for i, k := range a.order {
			abandon := func() {
				for _, sl := range a.list[i:] { // never launched
					close(sl.done)
				}
			}
			select {
			case <-a.stop:
				abandon()
				return
			default:
			}
			select {
			case a.sem <- struct{}{}:
			case <-a.stop:
				abandon()
				return
			}
			sl := a.list[i]
			go func() {
				sl.p, sl.err = create(k)
				if sl.err != nil {
					<-a.sem
				}
				close(sl.done)
			}()
		}
	}()
}

// take hands over the container created ahead for a slot, waiting for its
// creation; nil when the slot was not planned ahead.
func (a *aheadSet) take(ctx context.Context, service string, number int) (*prepared, error) {
	k := slotKey{service, number}
	a.mu.Lock()
	sl, ok := a.slots[k]
	a.mu.Unlock()
	if !ok {
		return nil, nil
	}
	select {
	case <-sl.done:
	case <-ctx.Done():
		return nil, ctx.Err() // left in place for cancelRest
	}
	a.mu.Lock()
	delete(a.slots, k)
	a.mu.Unlock()
	return sl.p, sl.err
}

// started frees the place of a container taken over and released.
func (a *aheadSet) started() { <-a.sem }

// cancelRest stops the launcher and cancels what was never released (a
// failed up).
func (a *aheadSet) cancelRest() {
	a.stopped.Do(func() { close(a.stop) })
	<-a.done
	a.mu.Lock()
	rest := a.slots
	a.slots = map[slotKey]*aheadSlot{}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, sl := range rest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-sl.done
			if sl.p != nil {
				sl.p.cancel()
			}
		}()
	}
	wg.Wait()
}

// createsAhead reports whether a service's new containers can be created
// before its dependencies run: not when it joins another container's
// namespaces or volumes, which must exist first.
func createsAhead(svc types.ServiceConfig) bool {
	for _, mode := range []string{svc.NetworkMode, svc.Ipc, svc.Pid, svc.Uts, svc.Cgroup} {
		if strings.HasPrefix(mode, types.ServicePrefix) || strings.HasPrefix(mode, types.ContainerPrefix) {
			return false
		}
	}
	return len(svc.VolumesFrom) == 0
}

// createAhead starts creating the new containers of the services that
// allow it, in dependency order, each left at its start gate.
func (e *Engine) createAhead(ctx context.Context, pl *plan, steps map[string][]step) *aheadSet {
	var order []slotKey
	_ = pl.graph.Walk(ctx, graph.Up, 1, func(_ context.Context, name string) error {
		if svc := pl.project.Services[name]; !createsAhead(svc) || dependsOnProvider(pl.project, svc) {
			return nil
		}
		for _, s := range steps[name] {
			if s.op == opCreate {
				order = append(order, slotKey{name, s.number})
			}
		}
		return nil
	})
	a := newAheadSet(order, e.parallel)
	a.launch(func(k slotKey) (*prepared, error) {
		svc := pl.project.Services[k.service]
		hash, err := project.ConfigHash(svc)
		if err != nil {
			return nil, err
		}
		r, err := e.create(ctx, pl, svc, k.number, hash, pl.images[svc.Name])
		if err != nil {
			return nil, err
		}
		return e.prepare(ctx, r)
	})
	return a
}
