package container

import "github.com/composer-dev/compose/engine/runspec"

// The options that shape a container (package runspec).
type (
	Options   = runspec.Options
	Tmpfs     = runspec.Tmpfs
	Device    = runspec.Device
	Ulimit    = runspec.Ulimit
	Resources = runspec.Resources
)
