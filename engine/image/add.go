package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// Add stores img (its config and layers; layers already in the store are
// neither read nor unpacked again) and points refs at it. It returns the
// image ID. Pull and build use it; Load uses it for every archived image.
func (s *Store) Add(ctx context.Context, img v1.Image, refs ...string) (string, error) {
	full := make([]string, 0, len(refs))
	for _, r := range refs {
		n, err := Normalize(r)
		if err != nil {
			return "", err
		}
		full = append(full, n)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return "", fmt.Errorf("image config: %w", err)
	}
	id, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	// Sources that name the config (manifests) must agree with its content.
	if want, err := img.ConfigName(); err == nil && want != id {
		return "", fmt.Errorf("image config %s: content has digest %s: %w", want, id, errdefs.ErrInvalidArgument)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("image config %s: %v: %w", id, err, errdefs.ErrInvalidArgument)
	}
	diffIDs := cfg.RootFS.DiffIDs
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("image %s: layers: %w", id, err)
	}
	if len(layers) != len(diffIDs) {
		return "", fmt.Errorf("image %s: %d layers but %d diff IDs in config: %w", id, len(layers), len(diffIDs), errdefs.ErrInvalidArgument)
	}
	rec := imageRecord{}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		size, err := s.addLayer(ctx, l, diffIDs[i])
		if err != nil {
			return "", fmt.Errorf("image %s: layer %s: %w", id, diffIDs[i], err)
		}
		rec.Layers = append(rec.Layers, diffIDs[i].String())
		rec.Size += size
	}
	// The config blob is written under the lock so a concurrent Remove
	// cannot collect it before the image is recorded.
	err = s.update(ctx, func(idx *index) error {
		if err := s.checkLayers(rec); err != nil {
			return err
		}
		if err := s.addBlob(id, raw); err != nil {
			return err
		}
		idx.Images[id.String()] = rec
		for _, r := range full {
			idx.Refs[r] = id.String()
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (s *Store) addBlob(h v1.Hash, content []byte) error {
	if _, err := os.Stat(s.blobPath(h)); err == nil {
		return nil
	}
	w, err := s.newBlobWriter()
	if err != nil {
		return err
	}
	if _, err := w.Write(content); err != nil {
		w.abort()
		return err
	}
	return w.commit(s, h)
}

// addLayer makes sure the layer's uncompressed tar is in blobs/ and its
// unpacked form in layers/, reading the layer only for what is missing.
// It returns the uncompressed size.
func (s *Store) addLayer(ctx context.Context, l v1.Layer, diffID v1.Hash) (int64, error) {
	if diffID.Algorithm != "sha256" {
		return 0, fmt.Errorf("diff ID algorithm %q: %w", diffID.Algorithm, errdefs.ErrInvalidArgument)
	}
	blob := s.blobPath(diffID)
	dir := s.layerDir(diffID.String())
	st, blobErr := os.Stat(blob)
	_, dirErr := os.Stat(dir)
	if blobErr == nil && dirErr == nil {
		return st.Size(), nil
	}

	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	w, err := s.newBlobWriter()
	if err != nil {
		return 0, err
	}
	defer w.abort()
	r := io.TeeReader(rc, w)

	var tmp string
	if dirErr != nil {
		// Unpack into a temporary directory and rename it when complete, so
		// a crash never leaves a partial layer under its final name.
		tmp, err = os.MkdirTemp(s.layersDir(), tempPrefix())
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(tmp)
		if err := extractLayer(ctx, tmp, r); err != nil {
			return 0, err
		}
	}
	// The tar reader may stop before the end-of-archive padding; hash it all.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return 0, err
	}
	size := w.n
	if err := w.commit(s, diffID); err != nil {
		return 0, err
	}
	if tmp != "" {
		if err := syncFS(tmp); err != nil {
			return 0, err
		}
		if err := os.Rename(tmp, dir); err != nil && !isExist(err) {
			return 0, err
		}
		// Another process may have won the race: its copy is just as good.
	}
	return size, nil
}

func isExist(err error) bool {
	return errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY)
}

// syncFS flushes everything written under dir with one syncfs call instead of
// an fsync per file.
func syncFS(dir string) error {
	f, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
