package image

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/composer-dev/compose/errdefs"
)

const (
	dockerHub     = "docker.io"
	officialRepos = "docker.io/library/"
)

// Normalize returns the full form of an image reference the way Docker
// stores it: "busybox" -> "docker.io/library/busybox:latest".
// Digest references keep their digest: "busybox@sha256:..." ->
// "docker.io/library/busybox@sha256:...".
func Normalize(ref string) (string, error) {
	// Docker's grammar first (lowercase path components of [a-z0-9._-]):
	// go-containerregistry alone lets "../../x" through.
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return "", fmt.Errorf("image reference %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, errdefs.ErrInvalidArgument)
	}
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	repo := reg + "/" + r.Context().RepositoryStr()
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr(), nil
	}
	return repo + ":" + r.Identifier(), nil
}

// Familiar shortens a normalized reference the way Docker prints it:
// "docker.io/library/busybox:latest" -> "busybox:latest",
// "docker.io/me/app:1" -> "me/app:1"; other registries stay as they are.
func Familiar(ref string) string {
	if s, ok := strings.CutPrefix(ref, officialRepos); ok && !strings.Contains(s, "/") {
		return s
	}
	if s, ok := strings.CutPrefix(ref, dockerHub+"/"); ok {
		return s
	}
	return ref
}
