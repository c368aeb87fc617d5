package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/networks"
	"github.com/composer-dev/compose/project"
)

// converge makes the plan's networks, volumes and containers match the
// project. What happens to each container is decided first; new containers
// are created ahead, in parallel, and wait at their start gates; then the
// services are walked in dependency order (independent ones in parallel),
// each waiting for its dependencies' conditions before its containers start.
func (e *Engine) converge(ctx context.Context, pl *plan) error {
	p := pl.project
	if err := e.ensureProjectNetworks(ctx, pl); err != nil {
		return err
	}
	if err := e.ensureProjectVolumes(ctx, p); err != nil {
		return err
	}
	steps := map[string][]step{}
	hashes := map[string]string{}
	for _, name := range pl.graph.Services() {
		svc := p.Services[name]
		if svc.Provider != nil {
			continue
		}
		hash, err := project.ConfigHash(svc)
		if err != nil {
			return err
		}
		existing, err := e.serviceContainers(p.Name, name)
		if err != nil {
			return err
		}
		hashes[name] = hash
		steps[name] = containerPlan(existing, svc.GetScale(), hash, pl.images[name].ID, pl.opts.policyFor(name, pl.named), false, isRunning)
	}
	pl.names = e.plannedNames(pl, steps)
	ahead := newAheadSet(nil, 0)
	if pl.opts.NoStart || e.dryRun { // a dry run creates nothing ahead
		ahead.launch(nil)
	} else {
		ahead = e.createAhead(ctx, pl, steps)
	}
	defer ahead.cancelRest()
	var mu sync.Mutex
	recreated := map[string]bool{}
	provided := map[string][]types.MappingWithEquals{} // provider variables, by dependent service
	wasRecreated := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return recreated[s]
	}
	return pl.graph.Walk(ctx, graph.Up, e.limit(0), func(ctx context.Context, name string) error {
		svc := p.Services[name]
		mu.Lock() // what the providers it depends on gave it
		for _, extra := range provided[name] {
			svc = withEnv(svc, extra)
		}
		mu.Unlock()
		if svc.Provider != nil {
			vars, err := e.runProvider(ctx, p, svc, "up")
			if err != nil {
				return err
			}
			env := e.providerEnv(p, svc, vars)
			mu.Lock()
			for dependent, extra := range env {
				provided[dependent] = append(provided[dependent], extra)
			}
			mu.Unlock()
			return nil
		}
		if !pl.opts.NoStart {
			if err := e.waitDependencies(ctx, pl, svc); err != nil {
				return err
			}
		}
		ss := steps[name]
		if restartsFor(svc, wasRecreated) {
			ss = slices.Clone(ss)
			for i := range ss {
				if ss[i].op == opKeep {
					ss[i].op = opRestart
				}
			}
		}
		changed, err := e.convergeService(ctx, pl, svc, hashes[name], ss, ahead)
		mu.Lock()
		recreated[name] = changed
		mu.Unlock()
		return err
	})
}

// convergeService carries out a service's steps: unchanged containers keep
// running, changed ones are recreated, extra replicas removed, new ones
// started (those created ahead are released from their gates). It reports
// whether any container was recreated.
func (e *Engine) convergeService(ctx context.Context, pl *plan, svc types.ServiceConfig, hash string, steps []step, ahead *aheadSet) (bool, error) {
	img := pl.images[svc.Name]
	recreated := false
	timeout := stopTimeout(svc, nil)
	needPreStart := !pl.opts.NoStart && preStartNeeded(svc, steps)
	// preStart runs the service's pre_start hooks before the first of its
	// containers starts, against that one (the lowest number).
	preStart := func(r *record.Record) error {
		if !needPreStart {
			return nil
		}
		needPreStart = false
		return e.runPreStart(ctx, pl.project, svc, r, img)
	}
	var err error
	for _, s := range steps {
		var r *record.Record
		switch s.op {
		case opKeep:
			e.progress("Container", s.rec.Name, "Running")
			continue
		case opStart:
			r = s.rec
		case opRestart:
			e.progress("Container", s.rec.Name, "Restarting")
			if err := e.halt(ctx, s.rec, timeout, e.runtime.Stop); err != nil {
				return recreated, err
			}
			r = s.rec
		case opRemove:
			if err := e.removeRecord(ctx, s.rec, timeout); err != nil {
				return recreated, err
			}
			continue
		case opRecreate:
			e.progress("Container", s.rec.Name, "Recreate")
			if err := e.retire(ctx, s.rec, timeout); err != nil {
				return recreated, err
			}
			ov := createOverrides{previous: s.rec}
			if pl.opts.RenewAnonVolumes {
				ov.previous = nil
			}
			if r, err = e.createWith(ctx, pl, svc, s.number, hash, img, ov); err != nil {
				return recreated, err
			}
			e.progress("Container", r.Name, "Recreated")
			recreated = true
		case opCreate:
			p, err := ahead.take(ctx, svc.Name, s.number)
			if err != nil {
				return recreated, err
			}
			if p != nil {
				if err := preStart(p.rec); err != nil {
					p.cancel()
					ahead.started()
					return recreated, err
				}
				e.progress("Container", p.rec.Name, "Starting")
				err := p.release()
				ahead.started()
				if err != nil {
					return recreated, fmt.Errorf("container %s: %w", p.rec.Name, err)
				}
				if err := e.postStart(ctx, p.rec); err != nil {
					return recreated, err
				}
				e.progress("Container", p.rec.Name, "Started")
				continue
			}
			if r, err = e.create(ctx, pl, svc, s.number, hash, img); err != nil {
				return recreated, err
			}
		}
		if pl.opts.NoStart {
			continue
		}
		if err := preStart(r); err != nil {
			return recreated, err
		}
		if err := e.startRecord(ctx, r); err != nil {
			return recreated, err
		}
	}
	return recreated, nil
}

// ensureProjectNetworks creates (or repairs) the networks the plan's
// services use, then makes sure the DNS server runs.
func (e *Engine) ensureProjectNetworks(ctx context.Context, pl *plan) error {
	p := pl.project
	var names []string // the networks the DNS server must answer on
	for _, key := range pl.networks {
		nw := p.Networks[key]
		names = append(names, nw.Name)
		if bool(nw.External) {
			if _, err := e.nets.Get(nw.Name); err != nil {
				return fmt.Errorf("network %s declared as external, but could not be found: %w", nw.Name, errdefs.ErrNotFound)
			}
			continue
		}
		_, err := e.nets.Get(nw.Name)
		created := err != nil
		if created {
			e.progress("Network", nw.Name, "Creating")
		}
		labels := map[string]string{record.LabelProject: p.Name, record.LabelNetwork: key, record.LabelVersion: Version}
		for k, v := range nw.Labels {
			labels[k] = v
		}
		opts, err := specgen.NetworkOptions(key, nw)
		if err != nil {
			return err
		}
		opts.Labels = labels
		// Ensure also repairs a network whose bridge or rules vanished (reboot).
		if err := e.would(func() error { _, err := e.nets.EnsureWith(ctx, nw.Name, opts); return err }); err != nil {
			return fmt.Errorf("network %s: %w", nw.Name, err)
		}
		if created {
			e.progress("Network", nw.Name, "Created")
		}
	}
	if pl.defaultBridge {
		names = append(names, specgen.DefaultBridgeNetwork)
		// Like Docker's bridge network, it belongs to no project: down leaves it.
		opts := networks.Options{DefaultBridge: true}
		if err := e.would(func() error { _, err := e.nets.EnsureWith(ctx, specgen.DefaultBridgeNetwork, opts); return err }); err != nil {
			return fmt.Errorf("network %s: %w", specgen.DefaultBridgeNetwork, err)
		}
	}
	if len(pl.networks) > 0 || pl.defaultBridge {
		if err := e.would(func() error { return e.nets.EnsureDNS(ctx, names...) }); err != nil {
			return fmt.Errorf("dns server: %w", err)
		}
	}
	return nil
}

// orphans lists the project's orphan containers as Docker Compose's
// isOrphaned sees them (pkg/compose/containers.go): those whose service is
// no longer in the compose files (neither enabled nor disabled by a
// profile), and one-off (`run`) containers that have exited, whatever
// their service.
func (e *Engine) orphans(p *types.Project) ([]*record.Record, error) {
	all, err := e.containers(p.Name)
	if err != nil {
		return nil, err
	}
	var out []*record.Record
	for _, r := range all {
		if r.Labels[record.LabelOneoff] == "True" {
			if recordState(r).Status == container.StatusExited { // there is no "dead" here
				out = append(out, r)
			}
			continue
		}
		_, enabled := p.Services[r.Service]
		_, disabled := p.DisabledServices[r.Service]
		if !enabled && !disabled {
			out = append(out, r)
		}
	}
	return out, nil
}

// handleOrphans finds the orphan containers: with --remove-orphans it
// returns them for removal, otherwise it warns in Docker Compose's words;
// with ignore (COMPOSE_IGNORE_ORPHANS) it does neither.
func (e *Engine) handleOrphans(p *types.Project, remove, ignore bool) ([]*record.Record, error) {
	if ignore {
		return nil, nil
	}
	orphans, err := e.orphans(p)
	if err != nil || len(orphans) == 0 || remove {
		return orphans, err
	}
	names := make([]string, len(orphans))
	for i, r := range orphans {
		names[i] = r.Name
	}
	fmt.Fprintf(e.err, "WARN[0000] Found orphan containers ([%s]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n", strings.Join(names, " "))
	return nil, nil
}

func (e *Engine) removeOrphans(ctx context.Context, orphans []*record.Record) error {
	for _, r := range orphans {
		if err := e.removeRecord(ctx, r, recordTimeout(r, nil)); err != nil {
			return err
		}
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
