package engine

import (
	"context"
	"iter"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/status"
)

// The status commands are answered by engine/status from the records and
// this engine's runtime; printing their rows is the caller's.

// Ps lists the project's containers like `docker compose ps`.
func (e *Engine) Ps(ctx context.Context, projectName string, opts status.PsOptions) ([]status.Summary, error) {
	return e.reporter().Ps(ctx, projectName, opts)
}

// Ls lists the projects that have containers on this host, like `docker compose ls`.
func (e *Engine) Ls(ctx context.Context, opts status.LsOptions) ([]status.ProjectSummary, error) {
	return e.reporter().Ls(ctx, opts)
}

// ProjectImages lists the images the project's containers use, like
// `docker compose images`.
func (e *Engine) ProjectImages(ctx context.Context, projectName string, opts status.ImagesOptions) ([]status.ImageSummary, error) {
	return e.reporter().ProjectImages(ctx, projectName, opts)
}

// Top lists the processes of the project's running containers, like `docker compose top`.
func (e *Engine) Top(ctx context.Context, projectName string, opts status.TopOptions) ([]status.ContainerProcesses, error) {
	return e.reporter().Top(ctx, projectName, opts)
}

// Stats samples the resource usage of the project's running containers
// every second (once with NoStream), like `docker compose stats`.
func (e *Engine) Stats(ctx context.Context, projectName string, opts status.StatsOptions) iter.Seq2[[]status.StatsRow, error] {
	return e.reporter().Stats(ctx, projectName, opts)
}

// Events streams the events of the project's containers, like `docker compose events`.
func (e *Engine) Events(ctx context.Context, projectName string, opts status.EventsOptions) iter.Seq2[status.Event, error] {
	return e.reporter().Events(ctx, projectName, opts)
}

// Logs prints the aggregated logs of the project's containers to opts.Out.
func (e *Engine) Logs(ctx context.Context, projectName string, opts status.LogsOptions) error {
	return e.reporter().Logs(ctx, projectName, opts)
}

func (e *Engine) reporter() *status.Reporter {
	return &status.Reporter{
		Records:      e.records,
		Runtime:      statusRuntime{e.runtime},
		Images:       statusImages{e.images},
		WaitUnlocked: e.waitProjectUnlocked,
	}
}

// waitProjectUnlocked returns once no other compose holds the project's
// lock (it is changing the project), or with ctx's error.
func (e *Engine) waitProjectUnlocked(ctx context.Context, project string) error {
	lock, err := e.lockProject(ctx, project)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return nil
	}
	e.unlockProject(lock, project)
	return nil
}

// statusRuntime is what engine/status asks of the runtime.
type statusRuntime struct{ rt *container.Runtime }

func (s statusRuntime) State(dir string) (supervisor.State, error) { return container.ReadState(dir) }

func (s statusRuntime) Paused(dir string, pid int) bool { return container.PausedRun(dir, pid) }

func (s statusRuntime) WaitFor(ctx context.Context, dir string, done func(supervisor.State) bool) (supervisor.State, error) {
	return container.WaitFor(ctx, dir, done)
}

func (s statusRuntime) WaitDir(ctx context.Context, dir string, check func() bool) error {
	return container.WaitDir(ctx, dir, check)
}

func (s statusRuntime) Stats(ctx context.Context, dir string) (status.Sample, error) {
	st, err := s.rt.Stats(ctx, dir)
	return status.Sample(st), err
}

func (s statusRuntime) Processes(ctx context.Context, dir string) ([]status.Process, error) {
	procs, err := s.rt.Processes(ctx, dir)
	out := make([]status.Process, len(procs))
	for i, p := range procs {
		out[i] = status.Process(p)
	}
	return out, err
}

// statusImages describes stored images for `compose images`.
type statusImages struct{ store *image.Store }

func (s statusImages) Name(ref string) (string, string) {
	if n, err := image.Normalize(ref); err == nil {
		ref = n
	}
	return splitTag(image.Familiar(ref))
}

func (s statusImages) Image(id string) (status.ImageInfo, error) {
	img, err := s.store.Get(id)
	if err != nil {
		return status.ImageInfo{}, err
	}
	info := status.ImageInfo{Size: img.Size, Created: img.Created}
	if in, err := s.store.Inspect(id); err == nil {
		info.Platform = status.ImagePlatform{Architecture: in.Architecture, OS: in.Os, Variant: in.Variant}
	}
	return info, nil
}
