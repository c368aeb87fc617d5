package specgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

// RunVolumes adds `run -v` volumes (HOST:CONTAINER[:opts], NAME:CONTAINER,
// or CONTAINER for an anonymous one) to the service's, replacing those at the
// same target. A relative or ~ host path is resolved like in the compose file.
func RunVolumes(projectDir string, have []types.ServiceVolumeConfig, specs []string) ([]types.ServiceVolumeConfig, error) {
	out := append([]types.ServiceVolumeConfig(nil), have...)
	for _, spec := range specs {
		v, err := format.ParseVolume(spec)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %v: %w", spec, err, errdefs.ErrInvalidArgument)
		}
		if !filepath.IsAbs(v.Target) {
			return nil, fmt.Errorf("volume %q: the container path must be absolute: %w", spec, errdefs.ErrInvalidArgument)
		}
		if parts := strings.Split(spec, ":"); len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private", "rprivate", "consistent", "cached", "delegated":
				default:
					return nil, fmt.Errorf("volume %q: unknown option %q: %w", spec, o, errdefs.ErrInvalidArgument)
				}
			}
		}
		if v.Type == types.VolumeTypeBind {
			if strings.HasPrefix(v.Source, "~") {
				home, err := os.UserHomeDir()
				if err != nil {
					return nil, err
				}
				v.Source = filepath.Join(home, v.Source[1:])
			}
			if !filepath.IsAbs(v.Source) {
				v.Source = filepath.Join(projectDir, v.Source)
			}
			v.Source = filepath.Clean(v.Source)
		}
		v.Target = filepath.Clean(v.Target)
		kept := out[:0]
		for _, o := range out {
			if filepath.Clean(o.Target) != v.Target {
				kept = append(kept, o)
			}
		}
		out = append(kept, v)
	}
	return out, nil
}
