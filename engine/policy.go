package engine

import (
	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/container"
)

// supervisorPolicy maps restart, healthcheck and logging options onto what
// the supervisor enforces.
func supervisorPolicy(svc types.ServiceConfig, cfg v1.Config) (container.RestartPolicy, *container.Healthcheck, container.LogOptions, error) {
	return container.RestartPolicy{}, nil, container.LogOptions{}, nil
}
