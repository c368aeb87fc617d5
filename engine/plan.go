package engine

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/project"
)

// The plan of `up`: what happens to each service's containers (kept,
// started, restarted, recreated, created or removed), decided from the
// project, the containers that exist and the convergence flags before
// anything changes. `up` carries it out in converge.go; `up --dry-run` runs
// the very same code with every change to the host behind would(), so what
// it reports is what `up` does.

// validContainerName is Docker's rule for container names (moby's
// daemon/names): they are file and DNS names too.
var validContainerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// maxReplicas bounds a service's scale: an absurd count would only exhaust
// the memory planning its containers.
const maxReplicas = 10000

// plan is a validated project: every error the user can fix is found before
// anything is created.
type plan struct {
	project  *types.Project
	graph    *graph.Graph
	images   map[string]*image.Image // by service
	networks []string                // network keys used by the selected services
	opts     ConvergeOptions
	named    map[string]bool // services named on the command line (none: all)
	// quietBuild leaves out the output of the builds up and run make,
	// quietPull the progress of their pulls.
	quietBuild, quietPull bool
	// names are the containers each service has once converged.
	names    map[string][]string
	diverged []string // networks whose options changed: recreated (networks.go)
	// run: the plan is `run`'s, whose progress Compose heads "run", not "up".
	run bool
	// defaultBridge: a service has network_mode: bridge, which joins the
	// host's default bridge network.
	defaultBridge bool
	// hostPorts are the host ports handed out to the containers created
	// so far, published or not yet (ports.go).
	hostPorts *portReservations
}

// operation names the command in the progress display's header.
func (pl *plan) operation() string {
	if pl.run {
		return "run"
	}
	return "up"
}

func (e *Engine) plan(p *types.Project, services []string) (*plan, error) {
	if err := project.SelectServices(p, services); err != nil {
		return nil, err
	}
	if len(services) > 0 { // naming a service enables it past its profiles, as in Compose
		var err error
		if p, err = p.WithServicesEnabled(services...); err != nil {
			return nil, err
		}
	}
	g, err := graph.New(p)
	if err != nil {
		return nil, err
	}
	if len(services) > 0 {
		if g, err = g.Subset(services, true); err != nil {
			return nil, err
		}
	}
	p = projectCopy(p)
	setBuildImages(p)
	pl := &plan{project: p, graph: g, images: map[string]*image.Image{}, named: map[string]bool{}, hostPorts: &portReservations{}}
	for _, s := range services {
		pl.named[s] = true
	}
	usedNets := map[string]bool{}
	for _, name := range g.Services() {
		svc, err := p.GetService(name)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", name, errdefs.ErrNotFound)
		}
		if err := checkModels(p, svc); err != nil {
			return nil, err
		}
		if svc.Provider != nil { // run by its provider program: no container
			if _, err := providerProgram(svc); err != nil {
				return nil, err
			}
			continue
		}
		if svc.Image == "" {
			return nil, fmt.Errorf("service %q has neither an image nor a build context specified: %w", name, errdefs.ErrInvalidArgument)
		}
		if err := specgen.CheckService(svc); err != nil {
			return nil, err
		}
		if err := specgen.CheckNetworking(p, svc); err != nil {
			return nil, err
		}
		pl.defaultBridge = pl.defaultBridge || specgen.DefaultBridge(svc)
		if _, err := specgen.Ports(svc); err != nil {
			return nil, err
		}
		if svc.ContainerName != "" && !validContainerName.MatchString(svc.ContainerName) {
			return nil, fmt.Errorf("service %q: Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, svc.ContainerName, errdefs.ErrInvalidArgument)
		}
		if n := svc.GetScale(); n > maxReplicas {
			return nil, fmt.Errorf("service %q: scale %d is more than one host can run (at most %d replicas): %w", name, n, maxReplicas, errdefs.ErrInvalidArgument)
		}
		if svc.ContainerName != "" && svc.GetScale() > 1 {
			return nil, fmt.Errorf("service %q: container_name %q can not be used with more than one replica: %w", name, svc.ContainerName, errdefs.ErrInvalidArgument)
		}
		for _, key := range serviceNetworks(svc) {
			nw, ok := p.Networks[key]
			if !ok {
				return nil, fmt.Errorf("service %q refers to undefined network %s: %w", name, key, errdefs.ErrInvalidArgument)
			}
			if _, err := specgen.NetworkOptions(key, nw); err != nil {
				return nil, err
			}
			usedNets[key] = true
		}
	}
	for key := range usedNets {
		pl.networks = append(pl.networks, key)
	}
	sort.Strings(pl.networks)
	return pl, nil
}

// checkModels refuses the models a service uses: Docker Compose has them
// run by Docker Model Runner (the docker-model plugin and the engine's
// model runner), which this engine does not have.
func checkModels(p *types.Project, svc types.ServiceConfig) error {
	for _, ref := range sortedNames(svc.Models) {
		name := ref
		if m, ok := p.Models[ref]; ok && m.Name != "" {
			name = m.Name
		}
		return fmt.Errorf("service %q: model %q: models need Docker Model Runner, which this engine does not have: %w", svc.Name, name, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// projectCopy is a copy of p whose services can be changed (scale, image
// names) without changing the caller's project.
func projectCopy(p *types.Project) *types.Project {
	q := *p
	q.Services = maps.Clone(p.Services)
	return &q
}

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
	// IgnoreOrphans (COMPOSE_IGNORE_ORPHANS) neither removes nor warns
	// about them.
	IgnoreOrphans bool
	// AllResources (--all-resources) creates every network the project
	// declares, even those no selected service joins.
	AllResources bool
	// Scale overrides scale/deploy.replicas: --scale SERVICE=N.
	Scale map[string]int
}

func (o ConvergeOptions) validate() error {
	if o.IgnoreOrphans && o.RemoveOrphans {
		return fmt.Errorf("cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans: %w", errdefs.ErrInvalidArgument)
	}
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
	if opts.AllResources {
		pl.networks = allNetworks(p)
	}
	if opts.NoDeps && len(services) > 0 {
		if pl.graph, err = pl.graph.Subset(services, false); err != nil {
			return nil, err
		}
	}
	if err := project.CheckContainerNames(pl.project, pl.graph.Services()); err != nil {
		return nil, err
	}
	return pl, nil
}

// allNetworks are the keys of every network the project declares, sorted.
func allNetworks(p *types.Project) []string {
	keys := make([]string, 0, len(p.Networks))
	for k := range p.Networks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// plannedNames are the names of each service's containers once its steps
// are done (those kept, started, restarted, recreated or created).
func (e *Engine) plannedNames(pl *plan, steps map[string][]step) map[string][]string {
	out := map[string][]string{}
	for name, ss := range steps {
		svc := pl.project.Services[name]
		for _, s := range ss {
			if s.op == opRemove {
				continue
			}
			cname := svc.ContainerName
			if cname == "" {
				cname = e.containerName(pl.project.Name, name, s.number)
			}
			out[name] = append(out[name], cname)
		}
	}
	return out
}
