package image

import (
	"context"
	"encoding/json"
	"slices"
)

// Prune works like `docker image prune`: it deletes dangling images (those
// no reference names), or with all every image, except those inUse reports
// true for (called with the image ID under the store's lock: it must not
// call back into the store). Then it deletes the blobs and unpacked layers
// no remaining image references. It returns the deleted image IDs (sorted)
// and the bytes freed.
func (s *Store) Prune(ctx context.Context, all bool, inUse func(imageID string) bool) (deleted []string, reclaimed int64, err error) {
	reclaimed, err = s.removeImages(ctx, func(idx *index) ([]string, error) {
		deleted = nil
		for id := range idx.Images {
			if !all && len(idx.refsOf(id)) > 0 {
				continue
			}
			if inUse != nil && inUse(id) {
				continue
			}
			for _, r := range idx.refsOf(id) {
				delete(idx.Refs, r)
			}
			deleted = append(deleted, id)
		}
		slices.Sort(deleted)
		return deleted, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return deleted, reclaimed, nil
}

// removeImages changes the index under the store's lock with fn, which
// returns the IDs of images to delete (their references already dropped),
// writes it, and only then, still under the lock, deletes what no remaining
// image references: a failure half way leaves unreferenced files, never an
// image without its layers. A concurrent Add re-checks its layers under
// the same lock before recording its image.
func (s *Store) removeImages(ctx context.Context, fn func(*index) ([]string, error)) (int64, error) {
	if s.DryRun {
		idx, err := s.readIndex()
		if err == nil {
			_, err = fn(idx)
		}
		return 0, err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer l.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return 0, err
	}
	ids, err := fn(idx)
	if err != nil {
		return 0, err
	}
	var removed []imageRecord
	for _, id := range ids {
		removed = append(removed, idx.Images[id])
		delete(idx.Images, id)
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := s.writeIndex(b); err != nil {
		return 0, err
	}
	return s.collect(idx, removed, ids, orphanGrace)
}
