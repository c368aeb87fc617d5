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
	"github.com/distribution/reference"
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
	// Policy (--policy missing|always) decides for every service with an
	// image: "missing" skips the images already stored.
	Policy string
	// IgnoreBuildable (--ignore-buildable) skips services with a build section.
	IgnoreBuildable bool
}

// Pull pulls the images of the project's services, each image once, several
// at a time. Like Docker Compose (pkg/compose/pull.go) it skips, with a
// line, services without an image, pull_policy never and build, and an
// image already stored under a tag other than latest when pull_policy is
// missing (or if_not_present).
func (e *Engine) Pull(ctx context.Context, p *types.Project, opts PullOptions) error {
	switch opts.Policy {
	case "", types.PullPolicyAlways, types.PullPolicyMissing, types.PullPolicyIfNotPresent:
	default:
		return fmt.Errorf("invalid --policy option %q: %w", opts.Policy, errdefs.ErrInvalidArgument)
	}
	names, err := e.selectServices(p, opts.Services, opts.IncludeDeps)
	if err != nil {
		return err
	}
	e.beginProgress("pull")
	defer e.endProgress()
	var svcs []types.ServiceConfig
	for _, n := range names {
		svc, err := p.GetService(n)
		if err != nil {
			return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", n))
		}
		if skip := e.pullSkip(svc); skip != nil {
			e.event(*skip)
			continue
		}
		svcs = append(svcs, svc)
	}
	svcs = e.skipPulls(svcs, opts)
	_, err = e.pullServices(ctx, svcs, opts.IgnoreFailures)
	return err
}

// skipPulls leaves out what --policy missing finds stored and, with
// --ignore-buildable, what can be built, with Docker Compose's "Skipped"
// lines (pkg/compose/pull.go).
func (e *Engine) skipPulls(svcs []types.ServiceConfig, opts PullOptions) []types.ServiceConfig {
	return slices.DeleteFunc(svcs, func(s types.ServiceConfig) bool {
		reason := ""
		switch {
		case (opts.Policy == types.PullPolicyMissing || opts.Policy == types.PullPolicyIfNotPresent) && e.stored(s.Image):
			reason = "Image is already present locally"
		case opts.IgnoreBuildable && s.Build != nil:
			reason = "Image can be built"
		default:
			return false
		}
		e.event(progress.Event{ID: "Image " + s.Image, Text: "Skipped", Status: progress.Done, Details: reason})
		return true
	})
}

// stored reports whether the image store holds ref.
func (e *Engine) stored(ref string) bool {
	_, err := e.images.Get(ref)
	return err == nil
}

// pullSkip is the line `pull` prints instead of pulling svc's image, or nil.
func (e *Engine) pullSkip(svc types.ServiceConfig) *progress.Event {
	skipped := progress.Event{ID: "Image " + svc.Image, Text: "Skipped", Status: progress.Done}
	switch svc.PullPolicy {
	case types.PullPolicyNever, types.PullPolicyBuild:
		if svc.Image != "" {
			return &skipped
		}
	case types.PullPolicyMissing, types.PullPolicyIfNotPresent: // not "": pull pulls by default
		if svc.Image != "" && e.storedPinned(svc.Image) {
			skipped.Details = "Image is already present locally"
			return &skipped
		}
	}
	if svc.Image == "" {
		return &progress.Event{ID: svc.Name, Text: "Skipped", Status: progress.Done, Details: "No image to be pulled"}
	}
	return nil
}

// storedPinned: ref is stored and names a tag other than latest (or a
// digest), so a missing-only pull has nothing to refresh.
func (e *Engine) storedPinned(ref string) bool {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return false
	}
	if tagged, ok := named.(reference.NamedTagged); ok && tagged.Tag() == "latest" {
		return false
	}
	_, err = e.images.Get(ref)
	return err == nil
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
	g.SetLimit(e.limit(4))
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

// pullOne pulls ref, reporting as Docker Compose does (pkg/compose/pull.go):
// "Image busybox Pulling", its layers under it, then "Image busybox
// Pulled"; a failure is the image's Error line with the message, or a
// Warning line (the message as its text) when the service can be built.
func (e *Engine) pullOne(ctx context.Context, ref string, owners []types.ServiceConfig) (*image.Image, error) {
	id := "Image " + ref
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
		if owners[0].Build != nil {
			e.event(progress.Event{ID: id, Text: errdefs.Message(err), Status: progress.Warning})
		} else {
			e.event(progress.Event{ID: id, Text: "Error", Status: progress.Error, Details: errdefs.Message(err)})
		}
		return nil, fmt.Errorf("service %q: %w", owners[0].Name, err)
	}
	e.event(progress.Event{ID: id, Text: "Pulled", Status: progress.Done})
	return img, nil
}

// layerEvent turns the image store's layer progress into a child line of
// the image: its step, and the bytes as the daemon's progress bar.
func layerEvent(parent string, ev image.Event) progress.Event {
	if ev.Parent == "" { // image-level events are summarised by pullOne
		return progress.Event{}
	}
	out := progress.Event{ID: ev.ID, ParentID: parent, Text: ev.Status}
	switch {
	case ev.Err != nil:
		out.Status, out.Details = progress.Error, errdefs.Message(ev.Err)
	case ev.Done: // "Pull complete", "Already exists": no bytes shown
		out.Status, out.Percent = progress.Done, 100
	default:
		out.Current, out.Total, out.Details = ev.Current, ev.Total, progress.Bar(ev.Current, ev.Total)
		if ev.Total > 0 {
			out.Percent = int(ev.Current * 100 / ev.Total)
		}
	}
	return out
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
		mode := e.progressMode
		if pl.quietPull {
			mode = progress.ModeQuiet
		}
		e.beginProgressIn(mode, pl.operation(), false)
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
