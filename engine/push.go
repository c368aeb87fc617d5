package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

// PushOptions are the flags of `compose push`.
type PushOptions struct {
	Services       []string
	IgnoreFailures bool
	IncludeDeps    bool // --include-deps: the named services' dependencies too
}

// Push pushes the images of services that have a build section, as Docker
// Compose does (their image name says where to).
func (e *Engine) Push(ctx context.Context, p *types.Project, opts PushOptions) error {
	names, err := e.selectServices(p, opts.Services, opts.IncludeDeps)
	if err != nil {
		return err
	}
	e.beginProgress("push")
	defer e.endProgress()
	var errs []error
	for _, n := range names {
		svc, err := p.GetService(n)
		if err != nil {
			return err
		}
		if svc.Build == nil || svc.Image == "" {
			e.event(progress.Event{ID: svc.Name, Text: "Skipped", Status: progress.Done})
			continue
		}
		for _, tag := range append([]string{svc.Image}, svc.Build.Tags...) {
			if err := e.pushImage(ctx, tag, opts.IgnoreFailures); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// PushImage pushes one image of the store (`compose image push`).
func (e *Engine) PushImage(ctx context.Context, ref string, out io.Writer) error {
	e.beginProgress("push")
	defer e.endProgress()
	return e.pushImage(ctx, ref, false)
}

// pushImage pushes ref as Docker Compose reports it (pkg/compose/push.go):
// "busybox Pushing", its layers, "busybox Pushed"; a failure is the error
// as the line's text, a warning when ignored.
func (e *Engine) pushImage(ctx context.Context, ref string, ignoreFailure bool) error {
	id := ref
	e.event(progress.Event{ID: id, Text: "Pushing", Status: progress.Working})
	err := e.would(func() error {
		_, err := e.images.Push(ctx, ref, image.PushOptions{
			RegistryOptions: e.registryOptions(),
			Progress:        func(ev image.Event) { e.event(layerEvent(id, ev)) },
		})
		return err
	})
	if err != nil {
		if ignoreFailure {
			e.event(progress.Event{ID: id, Text: errdefs.Message(err), Status: progress.Warning})
			return nil
		}
		e.event(progress.Event{ID: id, Text: errdefs.Message(err), Status: progress.Error})
		return fmt.Errorf("push %s: %w", ref, err)
	}
	e.event(progress.Event{ID: id, Text: "Pushed", Status: progress.Done})
	return nil
}
