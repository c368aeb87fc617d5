package image

import (
	"context"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// Tag points ref at the image src names (`docker tag`).
func (s *Store) Tag(ctx context.Context, src, ref string) error {
	full, err := Normalize(ref)
	if err != nil {
		return err
	}
	return s.update(ctx, func(idx *index) error {
		id, err := idx.resolve(src)
		if err != nil {
			return err
		}
		idx.Refs[full] = id
		return nil
	})
}

// Remove works like `docker rmi`: given a reference it removes that
// reference, and the image with it once no reference is left; given an ID it
// removes the image and all its references. Blobs and unpacked layers no
// other image uses are deleted. The caller checks that no container uses
// the image. It returns the references untagged and the IDs deleted.
func (s *Store) Remove(ctx context.Context, ref string) (untagged, deleted []string, err error) {
	err = s.update(ctx, func(idx *index) error {
		untagged, deleted = nil, nil
		id, err := idx.resolve(ref)
		if err != nil {
			return err
		}
		byID := strings.HasPrefix(ref, "sha256:") || isHex(ref)
		if full, nerr := Normalize(ref); nerr == nil && idx.Refs[full] == id {
			byID = false
			delete(idx.Refs, full)
			untagged = append(untagged, full)
		}
		if byID {
			for _, r := range idx.refsOf(id) {
				delete(idx.Refs, r)
				untagged = append(untagged, r)
			}
		}
		if len(idx.refsOf(id)) > 0 {
			return nil
		}
		delete(idx.Images, id)
		deleted = append(deleted, id)
		// Deleting under the index lock: a concurrent Add re-checks its
		// layers under the same lock before recording its image.
		return s.collect(idx)
	})
	return untagged, deleted, err
}

// collect deletes config blobs, layer blobs and unpacked layers that no
// image in idx references.
func (s *Store) collect(idx *index) error {
	keep := map[string]bool{}
	for id, rec := range idx.Images {
		keep[strings.TrimPrefix(id, "sha256:")] = true
		for _, l := range rec.Layers {
			keep[strings.TrimPrefix(l, "sha256:")] = true
		}
	}
	for _, dir := range []string{s.blobDir(), s.layersDir()} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := v1.NewHash("sha256:" + e.Name()); err != nil || keep[e.Name()] {
				continue // temporaries and what is still in use
			}
			if err := os.RemoveAll(dir + "/" + e.Name()); err != nil {
				return fmt.Errorf("image store: %w", err)
			}
		}
	}
	return nil
}

// checkLayers fails when a layer of rec vanished (removed by a concurrent
// Remove after Add found it present).
func (s *Store) checkLayers(rec imageRecord) error {
	for _, l := range rec.Layers {
		h, _ := v1.NewHash(l)
		for _, p := range []string{s.layerDir(l), s.blobPath(h)} {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("layer %s was removed while adding the image, try again: %w", l, errdefs.ErrConflict)
			}
		}
	}
	return nil
}
