package volumes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/fscopy"
)

// Empty reports whether dir has no entries (a missing dir counts as empty).
func Empty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// CopyUp fills dst, an empty volume dir, with what the image has at path:
// the layers (unpacked dirs with overlay whiteouts, bottom first) are merged
// into dst the way overlayfs shows them, keeping owners, modes, times,
// xattrs (file capabilities too), hard links and symlinks. dst itself takes
// the owner and mode of the image's directory, as Docker does. Each path is
// resolved inside its layer (securejoin), so a symlink in the image cannot
// make the copy read host files. It reports whether the image has a
// directory at path.
func CopyUp(dst string, layers []string, path string) (bool, error) {
	found := false
	for _, layer := range layers {
		src, err := securejoin.SecureJoin(layer, path)
		if err != nil {
			return found, err
		}
		var st unix.Stat_t
		if err := unix.Lstat(src, &st); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				continue
			}
			return found, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR { // a whiteout or a file hides what was below
			if err := clearDir(dst); err != nil {
				return found, err
			}
			found = false
			continue
		}
		if !found {
			if err := clearDir(dst); err != nil {
				return found, err
			}
		}
		found = true
		// OpaqueRoot: an opaque directory at path hides what the layers below have there.
		if err := fscopy.Copy(dst, src, fscopy.Options{Layer: true, OpaqueRoot: true}); err != nil {
			return found, fmt.Errorf("copy image content at %s: %w", path, err)
		}
	}
	return found, nil
}

// clearDir removes everything inside dir, keeping dir.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Fill copies the image's content at path into src, the source dir of volume
// name, when src is empty: Docker fills a volume whenever it is mounted empty.
// The store's lock keeps two containers starting at once from both copying.
func (s *Store) Fill(ctx context.Context, src string, layers []string, path string) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	empty, err := Empty(src)
	if err != nil || !empty {
		return err
	}
	_, err = CopyUp(src, layers, path)
	return err
}
