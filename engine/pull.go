package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"golang.org/x/sync/errgroup"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

// PullOptions are the flags of `compose pull`.
type PullOptions struct {
	Services       []string
	IgnoreFailures bool // --ignore-pull-failures
	IncludeDeps    bool // --include-deps
}

// Pull pulls the images of the project's services, each image once, several at a time.
func (e *Engine) Pull(ctx context.Context, p *types.Project, opts PullOptions) error {
	names, err := e.selectServices(p, opts.Services, opts.IncludeDeps)
	if err != nil {
		return err
	}
	var svcs []types.ServiceConfig
	for _, n := range names {
		svc, err := p.GetService(n)
		if err != nil {
			return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", n))
		}
		if svc.Image == "" || svc.PullPolicy == types.PullPolicyBuild {
			continue
		}
		svcs = append(svcs, svc)
	}
	e.beginProgress("Pulling")
	_, err = e.pullServices(ctx, svcs, opts.IgnoreFailures)
	e.endProgress()
	return err
}

// pullServices pulls each distinct image once (at most 4 at a time) and
// reports progress under the services' names, as Compose does. A failure of
// a service that can be built, or any failure when ignoreFailures, is a warning.
func (e *Engine) pullServices(ctx context.Context, svcs []types.ServiceConfig, ignoreFailures bool) (map[string]*image.Image, error) {
	byImage := map[string][]types.ServiceConfig{}
	var refs []string
	for _, s := range svcs {
		if _, ok := byImage[s.Image]; !ok {
			refs = append(refs, s.Image)
		}
		byImage[s.Image] = append(byImage[s.Image], s)
	}
	sort.Strings(refs)
	out := map[string]*image.Image{}
	var errs []error
	var mu sync.Mutex // guards out and errs
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, ref := range refs {
		owners := byImage[ref]
		g.Go(func() error {
			img, err := e.pullOne(gctx, ref, owners)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				for _, s := range owners {
					out[s.Name] = img
				}
				return nil
			}
			if errors.Is(err, context.Canceled) {
				return err
			}
			if ignoreFailures || owners[0].Build != nil {
				return nil // reported as a warning line already
			}
			errs = append(errs, err)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

func (e *Engine) pullOne(ctx context.Context, ref string, owners []types.ServiceConfig) (*image.Image, error) {
	id := owners[0].Name
	e.event(progress.Event{ID: id, Text: "Pulling", Status: progress.Working})
	var img *image.Image
	err := e.would(func() (err error) {
		img, err = e.images.Pull(ctx, ref, image.PullOptions{
			RegistryOptions: e.registryOptions(),
			Platform:        owners[0].Platform,
			Progress: func(ev image.Event) {
				e.event(layerEvent(id, ev))
			},
		})
		return err
	})
	if err != nil {
		status := progress.Error
		if owners[0].Build != nil {
			status = progress.Warning
		}
		for _, s := range owners {
			e.event(progress.Event{ID: s.Name, Text: "Error", Status: status, Details: errdefs.Message(err)})
		}
		return nil, fmt.Errorf("service %q: %w", id, err)
	}
	for _, s := range owners {
		e.event(progress.Event{ID: s.Name, Text: "Pulled", Status: progress.Done})
	}
	return img, nil
}

// layerEvent turns the image store's layer progress into a child line of the service.
func layerEvent(parent string, ev image.Event) progress.Event {
	if ev.Parent == "" { // image-level events are summarised by pullOne
		return progress.Event{}
	}
	st := progress.Working
	switch {
	case ev.Err != nil:
		st = progress.Error
	case ev.Done:
		st = progress.Done
	}
	return progress.Event{ID: ev.ID, ParentID: parent, Text: ev.Status, Status: st, Current: ev.Current, Total: ev.Total}
}

// registryOptions: registries allowed over plain HTTP besides loopback come
// from COMPOSE_INSECURE_REGISTRIES (comma-separated) and, for Docker users,
// "insecure-registries" in /etc/docker/daemon.json.
func (e *Engine) registryOptions() image.RegistryOptions {
	var insecure []string
	for _, r := range strings.Split(os.Getenv("COMPOSE_INSECURE_REGISTRIES"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			insecure = append(insecure, r)
		}
	}
	if data, err := os.ReadFile("/etc/docker/daemon.json"); err == nil {
		var daemon struct {
			Insecure []string `json:"insecure-registries"`
		}
		if json.Unmarshal(data, &daemon) == nil {
			insecure = append(insecure, daemon.Insecure...)
		}
	}
	return image.RegistryOptions{Insecure: insecure}
}

// resolveImages finds every service's image, pulling those the pull policy
// asks for (--pull overrides each service's pull_policy), before anything
// is created.
func (e *Engine) resolveImages(ctx context.Context, pl *plan, pull string, bp BuildPolicy) error {
	var toPull, toBuild []types.ServiceConfig
	// An image another service builds is not pulled: it is taken once built
	// (as Compose does for services sharing an image name).
	built := map[string]bool{}
	for _, name := range pl.graph.Services() {
		if svc, err := pl.project.GetService(name); err == nil && svc.Build != nil && bp != BuildNever && svc.Image != "" {
			built[svc.Image] = true
		}
	}
	for _, name := range pl.graph.Services() {
		svc, err := pl.project.GetService(name)
		if err != nil {
			return err
		}
		if svc.Provider != nil {
			continue // no image: its provider runs it
		}
		policy := svc.PullPolicy
		if svc.Build != nil && bp != BuildNever && (bp == BuildAlways || policy == types.PullPolicyBuild) {
			toBuild = append(toBuild, svc)
			continue
		}
		if pull != "" && pull != "policy" {
			policy = pull
		}
		img, err := e.images.Get(svc.Image)
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("service %q: %w", name, err)
		}
		switch policy {
		case types.PullPolicyAlways:
			toPull = append(toPull, svc)
		case types.PullPolicyNever:
			if img == nil {
				return fmt.Errorf("service %q: %w (pull_policy is never: load it with `compose image load` or pull it)", name, err)
			}
		case types.PullPolicyBuild:
			if img == nil {
				return fmt.Errorf("service %q: pull_policy build needs a build section (or --no-build was given and no image %q is stored): %w", name, svc.Image, errdefs.ErrInvalidArgument)
			}
		default:
			if refreshPolicy(policy) {
				after, err := refreshAfter(svc)
				if err != nil {
					return err
				}
				if img != nil && refreshDue(img, after, time.Now()) {
					toPull = append(toPull, svc) // old: pulled again (a failure keeps it)
					break
				}
			}
			if img == nil && svc.Build != nil && bp != BuildNever {
				toBuild = append(toBuild, svc) // as Compose does: build what is missing
			} else if img == nil && !built[svc.Image] {
				toPull = append(toPull, svc)
			}
		}
		if img != nil {
			pl.images[name] = img
		}
	}
	if len(toPull) > 0 {
		e.beginProgress("Pulling")
		pulled, err := e.pullServices(ctx, toPull, false)
		e.endProgress()
		if err != nil {
			return err
		}
		for name, img := range pulled {
			if img == nil && e.dryRun { // not pulled: it stands in
				img = e.dryRunImage(pl.project.Services[name].Image)
			}
			pl.images[name] = img
		}
	}
	for _, name := range pl.graph.Services() {
		svc, _ := pl.project.GetService(name)
		if pl.images[name] == nil && svc.Build != nil && bp != BuildNever && !slices.ContainsFunc(toBuild, func(s types.ServiceConfig) bool { return s.Name == name }) {
			toBuild = append(toBuild, svc) // its pull failed (a warning): build it, as Compose does
		}
	}
	if len(toBuild) > 0 {
		if err := e.buildServices(ctx, pl, toBuild); err != nil {
			return err
		}
	}
	for _, name := range pl.graph.Services() {
		if svc, _ := pl.project.GetService(name); pl.images[name] == nil && svc.Build == nil && built[svc.Image] {
			img, err := e.images.Get(svc.Image) // built for another service just now
			if err != nil {
				return fmt.Errorf("service %q: %w", name, err)
			}
			pl.images[name] = img
		}
		if svc, _ := pl.project.GetService(name); pl.images[name] == nil && svc.Provider == nil { // a service with build: whose pull failed, with --no-build
			return fmt.Errorf("service %q: image %q not found (--no-build): %w", name, svc.Image, errdefs.ErrNotFound)
		}
	}
	return nil
}

// selectServices is the services a command acts on: those named (with
// their dependencies when withDeps), or all of the project's.
func (e *Engine) selectServices(p *types.Project, names []string, withDeps bool) ([]string, error) {
	if len(names) == 0 {
		return p.ServiceNames(), nil
	}
	if !withDeps {
		return names, nil
	}
	pl, err := e.plan(p, names)
	if err != nil {
		return nil, err
	}
	return pl.graph.Services(), nil
}
