package container

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/composer-dev/compose/errdefs"
)

// A Dockerfile build runs each step in a container whose Dir holds
// BuildMarker: such a container has no engine record (no networks, no
// ports), and its overlay upper dir is the step's layer.

// BuildMarker is the file in a build step container's Dir that marks it.
const BuildMarker = "build-step"

// IsBuildStep reports whether dir is a build step container's.
func IsBuildStep(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, BuildMarker))
	return err == nil
}

// UpperDir is the overlay upper dir of the container whose Dir is dir:
// everything it changed in its root filesystem.
func UpperDir(dir string) string { return filepath.Join(rootfsDir(dir), "upper") }

// MountBuildRootfs mounts an overlay of lower (bottom first) with a fresh
// upper dir under dir and returns the merged root. A build needs overlayfs:
// its changes are read back from the upper dir.
func MountBuildRootfs(dir string, lower []string) (string, error) {
	if forcedCopy() {
		return "", fmt.Errorf("building images needs the overlay storage driver (%s=vfs is set): %w", StorageDriverEnv, errdefs.ErrFailedPrecondition)
	}
	if err := mountOverlayRootfs(dir, lower); err != nil {
		if overlayUnsupported(err) {
			return "", fmt.Errorf("building images needs overlayfs: %v: %w", err, errdefs.ErrFailedPrecondition)
		}
		return "", err
	}
	return mergedDir(dir), nil
}

// UnmountBuildRootfs detaches every mount under dir's root filesystem.
func UnmountBuildRootfs(dir string) error { return unmountUnder(resolvedPath(rootfsDir(dir))) }
