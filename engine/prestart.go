package engine

import (
	"context"
	"os"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/project"
)

// prepared is a container created ahead of its turn: its supervisor has
// set it up (namespaces, mounts, network) and waits at the start gate, so
// starting it in dependency order costs only its process's exec. This is
// Docker Compose's create-all-then-start-in-order, without the wait for
// one container's setup before the next one's begins.
type prepared struct {
	rec  *Record
	gate *os.File   // the gate's write end: a byte starts it, closing cancels
	done chan error // the result of the start
}

// prepare creates r ahead and leaves it at its start gate.
func (e *Engine) prepare(ctx context.Context, r *Record) (*prepared, error) {
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

// aheadSet holds the containers created ahead, by service and number.
type aheadSet struct {
	mu  sync.Mutex
	all map[string]map[int]*prepared
}

func (a *aheadSet) add(service string, number int, p *prepared) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.all[service] == nil {
		a.all[service] = map[int]*prepared{}
	}
	a.all[service][number] = p
}

// take hands over the prepared container of a slot, if any.
func (a *aheadSet) take(service string, number int) *prepared {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.all[service][number]
	delete(a.all[service], number)
	return p
}

// cancelRest cancels what was never released (a failed up).
func (a *aheadSet) cancelRest() {
	a.mu.Lock()
	var rest []*prepared
	for _, m := range a.all {
		for _, p := range m {
			rest = append(rest, p)
		}
	}
	a.all = map[string]map[int]*prepared{}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range rest {
		wg.Add(1)
		go func() { defer wg.Done(); p.cancel() }()
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

// createAhead creates, in parallel, the new containers of every service
// that allows it and leaves them at their start gates.
func (e *Engine) createAhead(ctx context.Context, pl *plan, steps map[string][]step) (*aheadSet, error) {
	ahead := &aheadSet{all: map[string]map[int]*prepared{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for name, ss := range steps {
		svc := pl.project.Services[name]
		if !createsAhead(svc) {
			continue
		}
		for _, s := range ss {
			if s.op != opCreate {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := e.createOneAhead(ctx, pl, svc, s.number, ahead)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if firstErr != nil {
		ahead.cancelRest()
		return nil, firstErr
	}
	return ahead, nil
}

func (e *Engine) createOneAhead(ctx context.Context, pl *plan, svc types.ServiceConfig, number int, ahead *aheadSet) error {
	hash, err := project.ConfigHash(svc)
	if err != nil {
		return err
	}
	r, err := e.create(ctx, pl, svc, number, hash, pl.images[svc.Name])
	if err != nil {
		return err
	}
	p, err := e.prepare(ctx, r)
	if err != nil {
		return err
	}
	ahead.add(svc.Name, number, p)
	return nil
}
