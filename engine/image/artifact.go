package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Blob is content pushed as is, under its media type.
type Blob struct {
	MediaType string
	Data      []byte
}

// ErrManifestRefused is returned (wrapped) when a registry refuses a
// manifest with a client error other than an authentication one: most
// likely a format it does not support.
var ErrManifestRefused = errors.New("manifest refused by the registry")

// PushArtifact uploads blobs to ref's repository (those already there are
// skipped), then puts manifest, an OCI image manifest, at ref: what
// `compose publish` pushes, an OCI artifact rather than an image.
func PushArtifact(ctx context.Context, ref string, blobs []Blob, manifest []byte, opts RegistryOptions) error {
	full, err := Normalize(ref)
	if err != nil {
		return err
	}
	r, err := opts.reference(full)
	if err != nil {
		return err
	}
	registry := r.Context().RegistryStr()
	pusher, err := remote.NewPusher(opts.remoteOptions(ctx, registry)...)
	if err != nil {
		return registryError(ctx, "push", Familiar(full), registry, err)
	}
	for _, b := range blobs {
		if err := pusher.Upload(ctx, r.Context(), static.NewLayer(b.Data, types.MediaType(b.MediaType))); err != nil {
			return registryError(ctx, "push", Familiar(full), registry, err)
		}
	}
	err = pusher.Put(ctx, r, rawManifest(manifest))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode >= 400 && te.StatusCode < 500 &&
		te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden && te.StatusCode != http.StatusProxyAuthRequired {
		return fmt.Errorf("%w: %v", ErrManifestRefused, err)
	}
	if err != nil {
		return registryError(ctx, "push", Familiar(full), registry, err)
	}
	return nil
}

// rawManifest is an OCI image manifest given as bytes.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
