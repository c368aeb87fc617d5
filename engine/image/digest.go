package image

import (
	"context"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RemoteDigest asks ref's registry for the digest of the manifest ref names
// (a HEAD request, nothing is pulled), as `config --resolve-image-digests`
// needs it.
func RemoteDigest(ctx context.Context, ref string, opts RegistryOptions) (string, error) {
	full, err := Normalize(ref)
	if err != nil {
		return "", err
	}
	r, err := opts.reference(full)
	if err != nil {
		return "", err
	}
	registry := r.Context().RegistryStr()
	desc, err := remote.Head(r, opts.remoteOptions(ctx, registry)...)
	if err != nil {
		return "", registryError(ctx, "resolve", Familiar(full), registry, err)
	}
	return desc.Digest.String(), nil
}
