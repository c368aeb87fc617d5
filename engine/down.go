package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/networks"
	"github.com/composer-dev/compose/project"
)

// DownOptions are the flags of `compose down`.
type DownOptions struct {
	Timeout *time.Duration // -t: grace period before SIGKILL
	Volumes bool           // -v: also remove named volumes (not external) and anonymous volumes
	// RemoveOrphans also removes containers of services the compose file no
	// longer declares; without it they are left alone.
	RemoveOrphans bool
	Images        string // --rmi: "" (none), "local" (images compose names itself) or "all"
	// Services (down SERVICE...) limits the containers removed to theirs
	// and their dependents'; networks and volumes still in use stay.
	Services []string
}

// Down stops and removes the project's containers (dependents first) and the
// networks it created. p may be nil when only the project name is known; then
// every container of the project goes, without ordering.
func (e *Engine) Down(ctx context.Context, name string, p *types.Project, opts DownOptions) error {
	if opts.Images != "" && opts.Images != "local" && opts.Images != "all" {
		return fmt.Errorf("--rmi %q: use local or all: %w", opts.Images, errdefs.ErrInvalidArgument)
	}
	lock, err := e.lockProject(ctx, name)
	if err != nil {
		return err
	}
	defer e.unlockProject(lock, name)
	recs, err := e.containers(name)
	if err != nil {
		return err
	}
	var g *graph.Graph
	if p != nil {
		if g, err = graph.New(p); err != nil {
			return err
		}
		recs = e.withoutOrphans(p, recs, opts.RemoveOrphans)
	}
	e.useHooksOf(p)
	if len(opts.Services) > 0 {
		if recs, err = downSelection(p, g, recs, opts); err != nil {
			return err
		}
	}
	e.beginProgress("down")
	defer e.endProgress()
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	veths := e.nets.HostVeths(ids)
	errs := []error{e.takeDown(ctx, g, recs, opts.Timeout)}
	if err := e.providersDo(ctx, p, g, "down"); err != nil {
		errs = append(errs, err)
	}
	if left, err := e.containers(name); err == nil && len(left) == 0 {
		e.records.Forget(name) // the index of a project that is gone
	}
	// The veths go with the containers' namespaces, in the kernel's own
	// time: wait for them while the networks are removed.
	vethsGone := make(chan struct{})
	go func() {
		defer close(vethsGone)
		if !e.dryRun { // it deletes what the kernel left
			networks.AwaitLinksGone(ctx, veths, vethTimeout)
		}
	}()
	defer func() { <-vethsGone }()
	nets, err := e.nets.List()
	if err != nil {
		return err
	}
	var ours []string
	for _, n := range nets {
		if n.Labels[record.LabelProject] == name {
			ours = append(ours, n.Name)
		}
	}
	// What a removal that failed before left on them (one that failed now
	// has said why, and its container stays for the next down).
	if errs[0] == nil {
		errs = append(errs, e.sweepEndpoints(ctx, ours))
	}
	found := len(recs) > 0 || opts.Volumes || opts.Images != ""
	for _, n := range nets {
		if n.Labels[record.LabelProject] != name {
			continue
		}
		found = true
		e.progress("Network", n.Name, "Removing")
		if err := e.would(func() error { return e.nets.Remove(ctx, n.Name) }); err != nil {
			if errors.Is(err, errdefs.ErrConflict) { // another project's container still uses it
				e.progress("Network", n.Name, "Resource is still in use")
				continue
			}
			errs = append(errs, err)
			continue
		}
		e.progress("Network", n.Name, "Removed")
	}
	if opts.Volumes {
		errs = append(errs, e.downVolumes(ctx, name, p, recs))
	}
	if opts.Images != "" {
		errs = append(errs, e.downImages(ctx, name, p, recs, opts.Images))
	}
	if !found {
		e.endProgress() // the warning goes below the display
		fmt.Fprintf(e.err, "Warning: No resource found to remove for project %q.\n", name)
	}
	return errors.Join(errs...)
}

// downSelection narrows recs for `down SERVICE...` as Docker Compose does
// (pkg/compose/down.go, WithRootNodesAndDown): the named services and,
// transitively, those that depend on them; orphans too with
// --remove-orphans. A service the compose files do not declare is an
// error; without the files (`-p NAME`) it is only skipped.
func downSelection(p *types.Project, g *graph.Graph, recs []*record.Record, opts DownOptions) ([]*record.Record, error) {
	dependents := g.Dependents
	if g == nil {
		dependents = recordDependents(recs)
	}
	want := map[string]bool{}
	var visit func(string)
	visit = func(s string) {
		if want[s] {
			return
		}
		want[s] = true
		for _, d := range dependents(s) {
			visit(d)
		}
	}
	for _, s := range opts.Services {
		if p != nil {
			if _, err := p.GetService(s); err != nil {
				return nil, errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", s))
			}
		}
		visit(s)
	}
	var declared []string
	if p != nil {
		declared = project.DeclaredServices(p)
	}
	return slices.DeleteFunc(recs, func(r *record.Record) bool {
		orphan := p != nil && !slices.Contains(declared, r.Service)
		return !want[r.Service] && !(orphan && opts.RemoveOrphans)
	}), nil
}

// recordDependents reads who depends on whom from the containers'
// com.docker.compose.depends_on labels, when no compose file is at hand.
func recordDependents(recs []*record.Record) func(string) []string {
	out := map[string][]string{}
	for _, r := range recs {
		for _, dep := range strings.Split(r.Labels[record.LabelDependsOn], ",") {
			if name, _, _ := strings.Cut(dep, ":"); name != "" && !slices.Contains(out[name], r.Service) {
				out[name] = append(out[name], r.Service)
			}
		}
	}
	return func(s string) []string { return out[s] }
}

// vethTimeout bounds the wait for the kernel to remove veths with their
// namespaces; what is left then is deleted one by one.
const vethTimeout = time.Second

// withoutOrphans returns the records down removes: orphans (containers of
// services the compose files do not declare) only with removeOrphans. Like
// Docker Compose, down does not warn about the ones it leaves.
func (e *Engine) withoutOrphans(p *types.Project, recs []*record.Record, removeOrphans bool) []*record.Record {
	if removeOrphans {
		return recs
	}
	declared := project.DeclaredServices(p)
	return slices.DeleteFunc(slices.Clone(recs), func(r *record.Record) bool { return !slices.Contains(declared, r.Service) })
}

// takeDown stops recs, dependents before their dependencies, and removes
// the containers whose supervisors have recorded their exit while the next
// stops go on, in batches: what became ready during one removal goes in
// the next, with one write per network for all of it.
func (e *Engine) takeDown(ctx context.Context, g *graph.Graph, recs []*record.Record, timeout *time.Duration) error {
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	ready := make(chan *record.Record, len(recs))
	removed := make(chan struct{})
	go func() {
		defer close(removed)
		for r := range ready {
			batch := []*record.Record{r}
			for more := true; more; {
				select {
				case r, ok := <-ready:
					if more = ok; ok {
						batch = append(batch, r)
					}
				default:
					more = false
				}
			}
			e.removeBatch(ctx, batch, fail)
		}
	}()
	var recorded sync.WaitGroup
	outer := ctx // the walk's ctx ends with the walk; the waits outlive it
	_ = inReverseOrder(ctx, g, recs, e.bounded(func(ctx context.Context, r *record.Record) error {
		if err := e.haltRecord(ctx, r, recordTimeout(r, timeout)); err != nil {
			fail(err)
			return nil // the other containers still go
		}
		if e.dryRun { // nothing stopped: nothing to wait for
			ready <- r
			return nil
		}
		recorded.Add(1)
		go func() {
			defer recorded.Done()
			// A container created but never started has no state to wait on.
			if _, err := e.runtime.Wait(outer, r.Dir); err != nil && !errdefs.IsNotFound(err) {
				fail(fmt.Errorf("container %s: %w", r.Name, err))
				return
			}
			ready <- r
		}()
		return nil
	}))
	recorded.Wait()
	close(ready)
	<-removed
	return errors.Join(errs...)
}

// removeBatch removes stopped containers in parallel, after releasing their
// addresses with one write per network.
func (e *Engine) removeBatch(ctx context.Context, batch []*record.Record, fail func(error)) {
	byNetwork := map[string][]string{}
	for _, r := range batch {
		e.progress("Container", r.Name, "Removing")
		for _, a := range r.Networks {
			byNetwork[a.Network] = append(byNetwork[a.Network], r.ID)
		}
	}
	for n, ids := range byNetwork {
		_ = e.would(func() error { return e.nets.Detach(ctx, n, ids...) }) // remove detaches whatever is left
	}
	var wg sync.WaitGroup
	for _, r := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.remove(ctx, r); err != nil {
				fail(err)
				return
			}
			e.progress("Container", r.Name, "Removed")
		}()
	}
	wg.Wait()
}

// haltRecord stops a live container and returns once its init is gone
// (down removes it next: the supervisor's teardown is not waited for).
func (e *Engine) haltRecord(ctx context.Context, r *record.Record, timeout time.Duration) error {
	return e.stopWith(ctx, r, timeout, e.runtime.Halt)
}

// downImages removes the images of the project's services: with "local"
// only those compose names itself (<project>-<service>, for services
// without an image name), with "all" every service's image. Images other
// containers still use are left, with a warning.
func (e *Engine) downImages(ctx context.Context, name string, p *types.Project, recs []*record.Record, mode string) error {
	var refs []string
	add := func(ref string) {
		if ref != "" && !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if p != nil {
		for _, svc := range p.Services {
			switch {
			case svc.Image == "":
				add(DefaultImageName(p, svc.Name))
			case mode == "all":
				add(svc.Image)
			}
		}
	} else {
		for _, r := range recs {
			if local := e.imageName(name, r.Service); r.Image == local || mode == "all" {
				add(r.Image)
			}
		}
	}
	going := map[string]bool{} // gone already, but a dry run still has them
	for _, r := range recs {
		going[r.ID] = true
	}
	usedBy := func(id string) string {
		all, _ := e.containers("")
		for _, r := range all {
			if r.ImageID == id && !going[r.ID] {
				return r.ID[:12]
			}
		}
		return ""
	}
	var errs []error
	for _, ref := range refs {
		if _, err := e.images.Get(ref); err != nil {
			continue // never pulled or built: nothing to remove
		}
		e.progress("Image", ref, "Removing")
		_, _, err := e.images.RemoveWithOptions(ctx, ref, image.RemoveOptions{UsedBy: usedBy})
		switch {
		case errors.Is(err, errdefs.ErrConflict):
			e.progress("Image", ref, "Resource is still in use")
		case err != nil:
			errs = append(errs, fmt.Errorf("image %s: %w", ref, err))
		default:
			e.progress("Image", ref, "Removed")
		}
	}
	return errors.Join(errs...)
}

// stopProject stops containers, dependents before their dependencies when the
// graph is known; containers of services outside the graph stop last, in parallel.
func (e *Engine) stopProject(ctx context.Context, g *graph.Graph, recs []*record.Record, timeout *time.Duration) error {
	return inReverseOrder(ctx, g, recs, e.bounded(func(ctx context.Context, r *record.Record) error {
		return e.stopRecord(ctx, r, recordTimeout(r, timeout))
	}))
}

// inReverseOrder calls fn for every record, the records of one service in
// parallel, dependents before their dependencies when the graph is known;
// records of services outside the graph come last, in parallel. It stops
// at the first level that fails.
func inReverseOrder(ctx context.Context, g *graph.Graph, recs []*record.Record, fn func(context.Context, *record.Record) error) error {
	byService := map[string][]*record.Record{}
	for _, r := range recs {
		byService[r.Service] = append(byService[r.Service], r)
	}
	all := func(ctx context.Context, rs []*record.Record) error {
		errs := make(chan error, len(rs))
		for _, r := range rs {
			go func() { errs <- fn(ctx, r) }()
		}
		var all []error
		for range rs {
			all = append(all, <-errs)
		}
		return errors.Join(all...)
	}
	if g != nil {
		err := g.Walk(ctx, graph.Down, 0, func(ctx context.Context, service string) error {
			return all(ctx, byService[service]) // concurrent reads only
		})
		if err != nil {
			return err
		}
		for _, s := range g.Services() {
			delete(byService, s)
		}
	}
	var rest []*record.Record
	for _, rs := range byService {
		rest = append(rest, rs...)
	}
	return all(ctx, rest)
}

func recordTimeout(r *record.Record, override *time.Duration) time.Duration {
	if override != nil {
		return *override
	}
	if r.StopTimeout != nil {
		return *r.StopTimeout
	}
	return defaultStopTimeout
}
