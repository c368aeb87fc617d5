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

// ResolveModelDigests pins the images of the model of `config
// --no-interpolate` (services' `image`) to the digests their registry has.
func ResolveModelDigests(ctx context.Context, model map[string]any) error {
	services, _ := model["services"].(map[string]any)
	p := &types.Project{Services: types.Services{}}
	for name, s := range services {
		svc, _ := s.(map[string]any)
		img, _ := svc["image"].(string)
		sc := types.ServiceConfig{Name: name}
		sc.Image = img
		p.Services[name] = sc
	}
	p, err := ResolveImageDigests(ctx, p)
	if err != nil {
		return err
	}
	for name, s := range services {
		if svc, _ := s.(map[string]any); svc != nil && p.Services[name].Image != "" {
			svc["image"] = p.Services[name].Image
		}
	}
	return nil
}

// ImageName is the image a service runs: its `image`, else the name
// Docker Compose gives what it builds, <project>-<service>.
func ImageName(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return DefaultImageName(p, s.Name)
}
