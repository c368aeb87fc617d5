package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

// After a killed supervisor, a host reboot or a removal that failed half
// way, the state on disk describes runs that no longer exist. Reading it
// (ps) reports such containers exited at once; the commands that change a
// project first repair it: what the dead runs left on the host goes, and
// so do the network endpoints nothing holds any more.

// repairParallel bounds the repairs done at once (after a reboot, every
// container of the project needs one).
const repairParallel = 4

// repairProject cleans up after the project's containers whose supervisor
// died and drops the endpoints of the networks they use that no container
// holds, so the command that follows starts from a clean host. It is
// called under the project's lock.
func (e *Engine) repairProject(ctx context.Context, project string) error {
	if e.dryRun {
		return nil
	}
	recs, err := e.containers(project)
	if err != nil {
		return err
	}
	errs := []error{e.repair(ctx, recs)}
	names, err := e.projectNetworks(project, recs)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, e.sweepEndpoints(ctx, names))
	return errors.Join(errs...)
}

// projectNetworks names the networks made for project and those its
// containers are attached to.
func (e *Engine) projectNetworks(project string, recs []*record.Record) ([]string, error) {
	nets, err := e.nets.List()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range nets {
		if n.Labels[record.LabelProject] == project {
			names = append(names, n.Name)
		}
	}
	for _, r := range recs {
		for _, a := range r.Networks {
			if !slices.Contains(names, a.Network) {
				names = append(names, a.Network)
			}
		}
	}
	return names, nil
}

// repair tears down what the runs of dead supervisors among recs left
// (container.Runtime.Repair), a few containers at a time.
func (e *Engine) repair(ctx context.Context, recs []*record.Record) error {
	if e.dryRun {
		return nil
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, repairParallel)
	for _, r := range recs {
		if !container.NeedsRepair(r.Dir) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := e.runtime.Repair(ctx, r.Dir, networkHooks(e.nets, r)); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("container %s: clean up after its dead supervisor: %w", r.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sweepEndpoints drops from the named networks the endpoints that no
// container holds: their container is gone (its removal failed half way),
// or it is stopped and has released the rest of its network, or its
// removal is pending. A container whose supervisor died is repaired
// first. Then nothing keeps the networks from being removed, and no name
// resolves to an address nobody has.
func (e *Engine) sweepEndpoints(ctx context.Context, names []string) error {
	if e.dryRun {
		return nil
	}
	var errs []error
	for _, name := range names {
		n, err := e.nets.Get(name)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ep := range n.Endpoints {
			errs = append(errs, e.sweepEndpoint(ctx, name, ep))
		}
	}
	return errors.Join(errs...)
}

// sweepEndpoint drops the endpoint ep on network if nothing holds it (see
// sweepEndpoints).
func (e *Engine) sweepEndpoint(ctx context.Context, network string, ep networks.Endpoint) error {
	id := ep.ContainerID
	fail := func(err error) error {
		if err == nil {
			return nil
		}
		name := ep.ContainerName
		if name == "" {
			name = id
		}
		return fmt.Errorf("network %s: endpoint of container %s: %w", network, name, err)
	}
	dir := e.records.Dir(id)
	if st, err := container.ReadState(dir); err == nil && container.Live(st) {
		return nil // the common case, decided without reading the record
	}
	r, err := record.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(e.dropEndpoint(ctx, network, id, true))
	}
	if err != nil {
		return fail(err)
	}
	if err := e.repair(ctx, []*record.Record{r}); err != nil {
		return err // it names the container
	}
	_, err = container.IfStopped(ctx, r.Dir, func() error {
		if container.RemovePending(r.Dir) { // what the removal would release
			return disconnect(ctx, e.nets, r)
		}
		if _, err := e.nets.NetNSPath(id); err == nil {
			return nil // its namespace is there: not ours to judge
		}
		return e.dropEndpoint(ctx, network, id, false)
	})
	return fail(err)
}

// dropEndpoint releases the endpoint of container id on network with its
// published ports and, when the container is gone, its namespace.
func (e *Engine) dropEndpoint(ctx context.Context, network, id string, gone bool) error {
	var errs []error
	if err := networks.Unpublish(id); err != nil {
		errs = append(errs, fmt.Errorf("published ports: %w", err))
	}
	_ = networks.ReleasePorts(ctx, e.runDir, id) // see disconnect
	if gone {
		if err := e.nets.DeleteNetNS(id); err != nil {
			errs = append(errs, fmt.Errorf("network namespace: %w", err))
		}
	}
	if err := e.nets.Disconnect(ctx, network, id); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
