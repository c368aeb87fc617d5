package engine

import (
	"context"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	godigest "github.com/opencontainers/go-digest"

	"github.com/composer-dev/compose/engine/image"
)

// ResolveImageDigests pins every service's image to the digest its registry
// has for it now (`config --resolve-image-digests`). It needs no state root.
func ResolveImageDigests(ctx context.Context, p *types.Project) (*types.Project, error) {
	opts := (*Engine)(nil).registryOptions() // reads only the environment and daemon.json
	return p.WithImagesResolved(func(named reference.Named) (godigest.Digest, error) {
		d, err := image.RemoteDigest(ctx, named.String(), opts)
		if err != nil {
			return "", err
		}
		return godigest.Parse(d)
	})
}

// ImageName is the image a service runs: its `image`, else the name
// Docker Compose gives what it builds, <project>-<service>.
func ImageName(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return defaultImageName(p.Name, s.Name)
}
