package image

import (
	"bytes"
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/composer-dev/compose/errdefs"
)

// What the Dockerfile builder needs from the store: layers stored one at a
// time from tar files, and images assembled from a config whose layers are
// all stored already.

// AddLayerFile stores the uncompressed layer tar at path (blob and unpacked
// directory) and returns its diff ID and size. A layer stored already is
// only hashed.
func (s *Store) AddLayerFile(ctx context.Context, path string) (v1.Hash, int64, error) {
	l, err := tarball.LayerFromFile(path)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	diffID, err := l.DiffID()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	unlock := lockLayer(diffID)
	defer unlock()
	size, err := s.addLayer(ctx, l, diffID)
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("layer %s: %w", diffID, err)
	}
	return diffID, size, nil
}

// HasLayer reports whether the layer with this diff ID is stored (blob and
// unpacked directory).
func (s *Store) HasLayer(diffID v1.Hash) bool { return s.hasLayer(diffID) }

// LayerDir is the unpacked directory of a stored layer.
func (s *Store) LayerDir(diffID v1.Hash) string { return s.layerDir(diffID.String()) }

// ImageFromConfig is the image made of the raw config and the stored layers
// its rootfs names; it fails if one of them is not stored.
func (s *Store) ImageFromConfig(raw []byte) (v1.Image, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image config: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if !s.hasLayer(d) {
			return nil, fmt.Errorf("layer %s: %w", d, errdefs.ErrNotFound)
		}
	}
	return partial.UncompressedToImage(&storedImage{s: s, raw: raw})
}

// RawConfig returns the config blob of the image ref names.
func (s *Store) RawConfig(ref string) ([]byte, error) {
	img, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(img.ID)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(s.blobPath(h))
}
