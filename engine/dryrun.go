package engine

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/build"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/progress"
	"github.com/composer-dev/compose/project"
)

// dryRunPrefix starts every progress line in --dry-run mode, as in Docker Compose.
const dryRunPrefix = "DRY-RUN MODE -  "

// DryRunPrefix is dryRunPrefix, for the reports the commands print themselves.
const DryRunPrefix = dryRunPrefix

// openImagesDryRun opens the image store without creating anything: a
// root that does not exist yet is read as an empty store.
func openImagesDryRun(dir string) (s *image.Store, err error) {
	defer func() {
		if s != nil {
			s.DryRun = true
		}
	}()
	if _, err := os.Stat(dir); err == nil {
		return image.Open(dir)
	}
	tmp, err := os.MkdirTemp("", "compose-dry-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	return image.Open(tmp)
}

// dryRunUp reports what Up would do (pulls, orphans, networks, volumes,
// containers in dependency order) and changes nothing.
func (e *Engine) dryRunUp(ctx context.Context, p *types.Project, opts UpOptions) error {
	pl, err := e.upPlan(p, opts.Services, opts.Converge)
	if err != nil {
		return err
	}
	if err := e.checkPorts(pl); err != nil {
		return err
	}
	for _, w := range optionalDependencyWarnings(pl.project, pl.graph.Services()) {
		fmt.Fprintf(e.err, "WARN[0000] %s\n", w)
	}
	orphans, err := e.handleOrphans(p, opts.Converge.RemoveOrphans)
	if err != nil {
		return err
	}
	e.beginProgress("Running")
	defer e.endProgress()
	for _, name := range pl.graph.Services() {
		svc := pl.project.Services[name]
		img, err := e.images.Get(svc.Image)
		if err != nil || opts.Pull == types.PullPolicyAlways || svc.PullPolicy == types.PullPolicyAlways && opts.Pull != types.PullPolicyNever {
			e.progress("Image", svc.Image, "Pulling")
			e.progress("Image", svc.Image, "Pulled")
		}
		if img == nil {
			img = &image.Image{ID: "unknown"} // nothing to compare: every container counts as new
		}
		pl.images[name] = img
	}
	for _, r := range orphans {
		e.dryRunRemove(r.Name, isRunning(r))
	}
	for _, key := range pl.networks {
		nw := pl.project.Networks[key]
		if _, err := e.nets.Get(nw.Name); err != nil && !bool(nw.External) {
			e.progress("Network", nw.Name, "Creating")
			e.progress("Network", nw.Name, "Created")
		}
	}
	for _, k := range sortedNames(pl.project.Volumes) {
		vol := pl.project.Volumes[k]
		if _, err := e.volumeStore().Get(vol.Name); err != nil && !bool(vol.External) {
			e.progress("Volume", strconv.Quote(vol.Name), "Creating")
			e.progress("Volume", strconv.Quote(vol.Name), "Created")
		}
	}
	var mu sync.Mutex
	recreated := map[string]bool{}
	err = pl.graph.Walk(ctx, graph.Up, 1, func(ctx context.Context, name string) error {
		svc := pl.project.Services[name]
		if !pl.opts.NoStart {
			for _, dep := range sortedNames(svc.DependsOn) {
				cond := svc.DependsOn[dep].Condition
				if (cond == types.ServiceConditionHealthy || cond == types.ServiceConditionCompletedSuccessfully) && pl.inGraph(dep) {
					done := "Healthy"
					if cond == types.ServiceConditionCompletedSuccessfully {
						done = "Exited"
					}
					e.progress("Container", fmt.Sprintf("%s-%s-1", pl.project.Name, dep), "Waiting")
					e.progress("Container", fmt.Sprintf("%s-%s-1", pl.project.Name, dep), done)
				}
			}
		}
		hash, err := project.ConfigHash(svc)
		if err != nil {
			return err
		}
		existing, err := e.serviceContainers(pl.project.Name, name)
		if err != nil {
			return err
		}
		mu.Lock()
		restart := restartsFor(svc, func(s string) bool { return recreated[s] })
		mu.Unlock()
		steps := containerPlan(existing, svc.GetScale(), hash, pl.images[name].ID, pl.opts.policyFor(name, pl.named), restart, isRunning)
		for _, s := range steps {
			cname := svc.ContainerName
			if cname == "" {
				cname = fmt.Sprintf("%s-%s-%d", pl.project.Name, name, s.number)
			}
			start := !pl.opts.NoStart
			switch s.op {
			case opKeep:
				e.progress("Container", cname, "Running")
				start = false
			case opRestart:
				e.progress("Container", cname, "Restarting")
			case opRemove:
				e.dryRunRemove(cname, isRunning(s.rec))
				start = false
			case opRecreate:
				mu.Lock()
				recreated[name] = true
				mu.Unlock()
				e.progress("Container", cname, "Recreate")
				e.progress("Container", cname, "Recreated")
			case opCreate:
				e.progress("Container", cname, "Creating")
				e.progress("Container", cname, "Created")
			}
			if start {
				e.progress("Container", cname, "Starting")
				e.progress("Container", cname, "Started")
			}
		}
		return nil
	})
	if err == nil && !opts.Detach {
		fmt.Fprintln(e.err, "end of 'compose up' output, interactive run is not supported in dry-run mode")
	}
	return err
}

func (e *Engine) dryRunRemove(name string, running bool) {
	if running {
		e.progress("Container", name, "Stopping")
		e.progress("Container", name, "Stopped")
	}
	e.progress("Container", name, "Removing")
	e.progress("Container", name, "Removed")
}

// dryRunDown reports what Down would remove and changes nothing.
func (e *Engine) dryRunDown(name string, p *types.Project, opts DownOptions) error {
	e.beginProgress("Running")
	defer e.endProgress()
	recs, err := e.containers(name)
	if err != nil {
		return err
	}
	if p != nil { // the orphans Down keeps unless --remove-orphans
		recs = e.withoutOrphans(p, recs, opts.RemoveOrphans)
	}
	order := serviceOrder(p, recs)
	for i := len(order) - 1; i >= 0; i-- { // dependents first
		for _, r := range recs {
			if r.Service == order[i] {
				e.dryRunRemove(r.Name, isRunning(r))
			}
		}
	}
	nets, err := e.nets.List()
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Labels[record.LabelProject] == name {
			e.progress("Network", n.Name, "Removing")
			e.progress("Network", n.Name, "Removed")
		}
	}
	if opts.Volumes {
		names, err := e.projectVolumes(name, p, recs)
		if err != nil {
			return err
		}
		for _, n := range names {
			e.progress("Volume", strconv.Quote(n), "Removing")
			e.progress("Volume", strconv.Quote(n), "Removed")
		}
	}
	return nil
}

// would makes a change to the host, or in --dry-run mode only pretends it
// did: the one place the commands that report as they go decide to act.
func (e *Engine) would(change func() error) error {
	if e.dryRun {
		return nil
	}
	return change()
}

// dryRunBuild prints the steps a build of svcs would run and builds nothing.
func (e *Engine) dryRunBuild(p *types.Project, svcs []types.ServiceConfig, args map[string]string, quiet bool) error {
	for _, svc := range buildOrder(svcs) {
		bo, err := buildOptions(p, svc, args)
		if err != nil {
			return err
		}
		steps, err := build.Steps(bo)
		if err != nil {
			return fmt.Errorf("service %q: %w", svc.Name, err)
		}
		if quiet || e.progressMode == progress.ModeQuiet {
			continue
		}
		fmt.Fprintf(e.err, " %sbuild service %s\n", dryRunPrefix, svc.Name)
		for _, s := range steps {
			fmt.Fprintf(e.err, " %s%s\n", dryRunPrefix, s)
		}
		for _, t := range bo.Tags {
			fmt.Fprintf(e.err, " %s==> ==> naming to %s\n", dryRunPrefix, t)
		}
		fmt.Fprintf(e.err, " %sService %s  Built\n", dryRunPrefix, svc.Name)
	}
	return nil
}
