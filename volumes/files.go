package volumes

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/composer-dev/compose/internal/store"
)

// WriteFile writes the content of a secret or config to path (atomically),
// owned by uid:gid with mode, for a read-only bind into a container.
func WriteFile(path string, content []byte, uid, gid int, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := store.WriteFile(path, content, mode); err != nil {
		return err
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	// Chmod after chown: the umask may have narrowed the mode at creation.
	return os.Chmod(path, mode)
}
