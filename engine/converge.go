package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/project"
)

// ConvergeOptions say how `up` (and `scale`) bring the containers of a
// running project in line with its compose files.
type ConvergeOptions struct {
	ForceRecreate      bool // recreate even unchanged containers
	NoRecreate         bool // never recreate existing containers
	AlwaysRecreateDeps bool // recreate the dependencies of the named services
	NoDeps             bool // leave the dependencies of the named services alone
	NoStart            bool // create, do not start
	RenewAnonVolumes   bool // -V: recreated containers get fresh anonymous volumes
	RemoveOrphans      bool // remove containers of services no longer in the files
	// Scale overrides scale/deploy.replicas: --scale SERVICE=N.
	Scale map[string]int
}

func (o ConvergeOptions) validate() error {
	if o.ForceRecreate && o.NoRecreate {
		return fmt.Errorf("--force-recreate and --no-recreate are incompatible: %w", errdefs.ErrInvalidArgument)
	}
	if o.AlwaysRecreateDeps && o.NoRecreate {
		return fmt.Errorf("--always-recreate-deps and --no-recreate are incompatible: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// recreatePolicy says when an existing container is replaced.
type recreatePolicy int

const (
	recreateDiverged recreatePolicy = iota // when its config hash or image changed
	recreateForce                          // always
	recreateNever                          // never
)

// policyFor is Docker Compose's rule: the services named on the command
// line (all of them when none is named) follow --force-recreate and
// --no-recreate; the dependencies pulled in for them are recreated when they
// diverged, or always with --always-recreate-deps.
func (o ConvergeOptions) policyFor(service string, named map[string]bool) recreatePolicy {
	if len(named) == 0 || named[service] {
		switch {
		case o.ForceRecreate:
			return recreateForce
		case o.NoRecreate:
			return recreateNever
		}
		return recreateDiverged
	}
	if o.AlwaysRecreateDeps {
		return recreateForce
	}
	return recreateDiverged
}

// The operations convergence performs on one container slot.
const (
	opKeep     = "keep"     // running and up to date: untouched
	opStart    = "start"    // up to date but stopped
	opRestart  = "restart"  // up to date, but a dependency with restart: true was recreated
	opCreate   = "create"   // a new replica
	opRecreate = "recreate" // diverged (or forced): replaced by a new container with the same number
	opRemove   = "remove"   // beyond the scale
)

// step is one operation of a service's convergence.
type step struct {
	op     string
	rec    *record.Record // the existing container; nil for opCreate
	number int
}

// containerPlan decides what happens to each container of a service:
// existing ones with the lowest numbers are kept up to scale (so scaling
// down removes the highest numbers and scaling up adds numbers after the
// highest), diverged ones are recreated under the policy, the rest started.
func containerPlan(existing []*record.Record, scale int, hash, imageID string, policy recreatePolicy, restart bool, running func(*record.Record) bool) []step {
	recs := slices.Clone(existing)
	sort.Slice(recs, func(i, j int) bool { return recs[i].Number < recs[j].Number })
	var steps []step
	next := 1
	for i, r := range recs {
		next = max(next, r.Number+1)
		if i >= scale {
			continue
		}
		diverged := r.Labels[record.LabelConfigHash] != hash || r.ImageID != imageID
		switch {
		case policy == recreateForce || policy == recreateDiverged && diverged:
			steps = append(steps, step{op: opRecreate, rec: r, number: r.Number})
		case !running(r):
			steps = append(steps, step{op: opStart, rec: r, number: r.Number})
		case restart:
			steps = append(steps, step{op: opRestart, rec: r, number: r.Number})
		default:
			steps = append(steps, step{op: opKeep, rec: r, number: r.Number})
		}
	}
	for n := len(recs); n < scale; n++ {
		steps = append(steps, step{op: opCreate, number: next})
		next++
	}
	for i := len(recs) - 1; i >= scale; i-- { // highest numbers go first
		steps = append(steps, step{op: opRemove, rec: recs[i], number: recs[i].Number})
	}
	return steps
}

// restartsFor reports whether svc must restart because one of its
// dependencies with `restart: true` was recreated.
func restartsFor(svc types.ServiceConfig, recreated func(string) bool) bool {
	for dep, d := range svc.DependsOn {
		if d.Restart && recreated(dep) {
			return true
		}
	}
	return false
}

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
	pl.names = plannedNames(pl, steps)
	ahead := newAheadSet(nil)
	if pl.opts.NoStart || e.dryRun { // a dry run creates nothing ahead
		ahead.launch(nil)
	} else {
		ahead = e.createAhead(ctx, pl, steps)
	}
	defer ahead.cancelRest()
	var mu sync.Mutex
	recreated := map[string]bool{}
	wasRecreated := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return recreated[s]
	}
	return pl.graph.Walk(ctx, graph.Up, 0, func(ctx context.Context, name string) error {
		svc := p.Services[name]
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
			if err := e.stopRecord(ctx, s.rec, timeout); err != nil {
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
			if err := e.removeRecord(ctx, s.rec, timeout); err != nil {
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
				e.progress("Container", p.rec.Name, "Starting")
				err := p.release()
				ahead.started()
				if err != nil {
					return recreated, fmt.Errorf("container %s: %w", p.rec.Name, err)
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
	for _, key := range pl.networks {
		nw := p.Networks[key]
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
	if len(pl.networks) > 0 {
		if err := e.would(func() error { return e.nets.EnsureDNS(ctx) }); err != nil {
			return fmt.Errorf("dns server: %w", err)
		}
	}
	return nil
}

// orphans lists the project's containers whose service is no longer in the
// compose files (neither enabled nor disabled by a profile).
func (e *Engine) orphans(p *types.Project) ([]*record.Record, error) {
	all, err := e.containers(p.Name)
	if err != nil {
		return nil, err
	}
	var out []*record.Record
	for _, r := range all {
		_, enabled := p.Services[r.Service]
		_, disabled := p.DisabledServices[r.Service]
		if !enabled && !disabled {
			out = append(out, r)
		}
	}
	return out, nil
}

// handleOrphans finds the orphan containers: with --remove-orphans it
// returns them for removal, otherwise it warns in Docker Compose's words.
func (e *Engine) handleOrphans(p *types.Project, remove bool) ([]*record.Record, error) {
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

// applyScale sets the replicas of services as --scale says.
func applyScale(p *types.Project, scale map[string]int) error {
	for _, name := range sortedNames(scale) {
		n := scale[name]
		svc, ok := p.Services[name]
		if !ok {
			if _, disabled := p.DisabledServices[name]; !disabled {
				return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", name))
			}
			continue
		}
		if n < 0 {
			return fmt.Errorf("service %q: scale must be a positive number: %w", name, errdefs.ErrInvalidArgument)
		}
		svc.Scale = &n
		if svc.Deploy != nil {
			d := *svc.Deploy
			d.Replicas = &n
			svc.Deploy = &d
		}
		p.Services[name] = svc
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

// upPlan is plan with up's convergence options applied: --scale, --no-deps.
func (e *Engine) upPlan(p *types.Project, services []string, opts ConvergeOptions) (*plan, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p = projectCopy(p) // the caller's project stays as it was
	if err := applyScale(p, opts.Scale); err != nil {
		return nil, err
	}
	pl, err := e.plan(p, services)
	if err != nil {
		return nil, err
	}
	pl.opts = opts
	if opts.NoDeps && len(services) > 0 {
		if pl.graph, err = pl.graph.Subset(services, false); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// plannedNames are the names of each service's containers once its steps
// are done (those kept, started, restarted, recreated or created).
func plannedNames(pl *plan, steps map[string][]step) map[string][]string {
	out := map[string][]string{}
	for name, ss := range steps {
		svc := pl.project.Services[name]
		for _, s := range ss {
			if s.op == opRemove {
				continue
			}
			cname := svc.ContainerName
			if cname == "" {
				cname = fmt.Sprintf("%s-%s-%d", pl.project.Name, name, s.number)
			}
			out[name] = append(out[name], cname)
		}
	}
	return out
}
