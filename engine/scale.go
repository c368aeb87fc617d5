package engine

import (
	"context"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

// ScaleOptions are the arguments of `compose scale`.
type ScaleOptions struct {
	Replicas map[string]int // SERVICE=NUM
	NoDeps   bool           // leave the services' dependencies alone
}

// Scale sets the number of containers of services, as `docker compose
// scale` does: it converges those services (and, unless NoDeps, what they
// depend on) with the given replicas, in the background.
func (e *Engine) Scale(ctx context.Context, p *types.Project, opts ScaleOptions) error {
	if len(opts.Replicas) == 0 {
		return fmt.Errorf("scale: name at least one SERVICE=NUM: %w", errdefs.ErrInvalidArgument)
	}
	services := sortedNames(opts.Replicas)
	return e.Up(ctx, p, UpOptions{
		Services: services,
		Detach:   true,
		Converge: ConvergeOptions{Scale: opts.Replicas, NoDeps: opts.NoDeps},
	})
}
