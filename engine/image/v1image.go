package image

import (
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/composer-dev/compose/errdefs"
)

// V1Image returns a stored image as a go-containerregistry image, for save
// and push. Its layers are read from the stored uncompressed blobs;
// go-containerregistry compresses them when a manifest is needed.
func (s *Store) V1Image(ref string) (v1.Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, err := idx.resolve(ref)
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(id)
	if err != nil {
		return nil, fmt.Errorf("image %q: bad ID in index: %w", id, errdefs.ErrFailedPrecondition)
	}
	raw, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("image %q: config blob: %v: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	return partial.UncompressedToImage(&storedImage{s: s, raw: raw})
}

type storedImage struct {
	s   *Store
	raw []byte
}

func (i *storedImage) RawConfigFile() ([]byte, error) { return i.raw, nil }

func (i *storedImage) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }

func (i *storedImage) LayerByDiffID(h v1.Hash) (partial.UncompressedLayer, error) {
	if _, err := os.Stat(i.s.blobPath(h)); err != nil {
		return nil, fmt.Errorf("layer %s: %v: %w", h, err, errdefs.ErrFailedPrecondition)
	}
	return &storedLayer{path: i.s.blobPath(h), diffID: h}, nil
}

type storedLayer struct {
	path   string
	diffID v1.Hash
}

func (l *storedLayer) DiffID() (v1.Hash, error)             { return l.diffID, nil }
func (l *storedLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *storedLayer) MediaType() (types.MediaType, error)  { return types.DockerLayer, nil }
