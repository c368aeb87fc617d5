package specgen

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// CheckService refuses, before anything is created, the service keys this
// engine cannot honour and the values Docker would reject, each in one
// line naming the service and the key.
func CheckService(svc types.ServiceConfig) error {
	if svc.UseAPISocket {
		// Docker Compose bind-mounts /var/run/docker.sock and hands the
		// CLI's registry credentials to the container; there is no Docker
		// API here to give it.
		return fmt.Errorf("service %q: use_api_socket is not supported: this engine has no Docker API socket to mount: %w", svc.Name, errdefs.ErrInvalidArgument)
	}
	if _, err := Exposed(svc, v1.Config{}); err != nil {
		return err
	}
	for i, h := range svc.PreStart {
		if h.PerReplica { // Docker Compose's own refusal (pkg/compose/pre_start.go)
			return fmt.Errorf("service %q pre_start[%d]: per_replica is not yet supported; remove per_replica or set it to false: %w", svc.Name, i, errdefs.ErrInvalidArgument)
		}
		if err := CheckService(types.ServiceConfig{Name: svc.Name, ContainerSpec: h.ContainerSpec}); err != nil {
			return fmt.Errorf("pre_start[%d]: %w", i, err)
		}
	}
	return nil
}
