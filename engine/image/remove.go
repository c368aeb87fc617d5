package image

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

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
		rec := idx.Images[id]
		rec.LastTagTime = time.Now().UTC()
		idx.Images[id] = rec
		return nil
	})
}

// RemoveOptions tell RemoveWithOptions which images containers use.
type RemoveOptions struct {
	// Force removes a reference even when a container uses the image (the
	// image stays, untagged, as Docker keeps it) and an image by ID that
	// is tagged in several repositories.
	Force bool
	// UsedBy returns the ID or name of a container that uses the image, or
	// "" when none does. nil means no container uses any image.
	UsedBy func(imageID string) string
}

// Remove is RemoveWithOptions with Force and no containers: the caller has
// checked that no container uses the image.
func (s *Store) Remove(ctx context.Context, ref string) (untagged, deleted []string, err error) {
	return s.RemoveWithOptions(ctx, ref, RemoveOptions{Force: true})
}

// RemoveWithOptions works like `docker rmi`: given a reference it removes
// that reference, and the image with it once no reference is left; given an
// ID it removes the image and all its references. Blobs and unpacked layers
// no other image uses are deleted. An image a container uses is never
// deleted: removing its last reference needs Force, removing it by ID fails.
// It returns the references untagged (normalized) and the IDs deleted.
func (s *Store) RemoveWithOptions(ctx context.Context, ref string, opts RemoveOptions) (untagged, deleted []string, err error) {
	_, err = s.removeImages(ctx, func(idx *index) ([]string, error) {
		untagged, deleted = nil, nil
		id, err := idx.resolve(ref)
		if err != nil {
			return nil, err
		}
		user := ""
		if opts.UsedBy != nil {
			user = opts.UsedBy(id)
		}
		if full, nerr := Normalize(ref); nerr == nil && idx.Refs[full] == id {
			// A reference was given: untag it.
			gone := append([]string{full}, idx.untagRef(full)...)
			last := len(idx.refsOf(id)) == len(gone)
			if last && user != "" && !opts.Force {
				return nil, errdefs.Mark(errdefs.ErrConflict, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
					ref, truncID(user), truncID(id)))
			}
			for _, r := range gone {
				delete(idx.Refs, r)
				untagged = append(untagged, r)
			}
			if len(idx.refsOf(id)) > 0 || user != "" {
				return nil, nil
			}
		} else {
			// An ID was given: remove the image with all its references.
			if user != "" {
				how := "must be forced"
				if opts.Force {
					how = "cannot be forced"
				}
				return nil, errdefs.Mark(errdefs.ErrConflict, fmt.Errorf("conflict: unable to delete %s (%s) - image is being used by container %s",
					truncID(id), how, truncID(user)))
			}
			refs := idx.refsOf(id)
			if !opts.Force && repositories(refs) > 1 {
				return nil, errdefs.Mark(errdefs.ErrConflict, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", truncID(id)))
			}
			for _, r := range refs {
				delete(idx.Refs, r)
				untagged = append(untagged, r)
			}
		}
		deleted = append(deleted, id)
		return deleted, nil
	})
	return untagged, deleted, err
}

// untagRef returns the references that go with full when it is removed:
// like Docker, digest references of the same repository go with the last
// tag, so that `rmi name` of a pulled image removes it.
func (idx *index) untagRef(full string) []string {
	repo := repoOf(full)
	var digests []string
	for _, r := range idx.refsOf(idx.Refs[full]) {
		if r == full {
			continue
		}
		if !strings.HasPrefix(r, repo+"@") {
			return nil // another tag, or another repository, keeps the image
		}
		digests = append(digests, r)
	}
	return digests
}

// repositories counts the distinct repositories among normalized refs.
func repositories(refs []string) int {
	seen := map[string]bool{}
	for _, r := range refs {
		seen[repoOf(r)] = true
	}
	return len(seen)
}

// repoOf returns the repository of a normalized reference.
func repoOf(ref string) string {
	repo, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo
}

// truncID truncates a 64-hex ID (with or without "sha256:") to the 12
// characters Docker prints; anything else is returned as it is.
func truncID(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	if len(hex) == 64 && isHex(hex) {
		return hex[:12]
	}
	return id
}

// orphanGrace is how old an unreferenced blob or layer must be before
// collect deletes it when no removed image named it: younger ones may belong
// to an Add (a pull) that has not recorded its image yet.
const orphanGrace = time.Hour

// collect deletes config blobs, layer blobs and unpacked layers that no
// image in idx references: at once for those of the removed images, after
// grace for others (left by a crash). It returns the bytes freed.
func (s *Store) collect(idx *index, removed []imageRecord, removedIDs []string, grace time.Duration) (int64, error) {
	keep := map[string]bool{}
	for id, rec := range idx.Images {
		keep[strings.TrimPrefix(id, "sha256:")] = true
		for _, l := range rec.Layers {
			keep[strings.TrimPrefix(l, "sha256:")] = true
		}
	}
	gone := map[string]bool{}
	for _, id := range removedIDs {
		gone[strings.TrimPrefix(id, "sha256:")] = true
	}
	for _, rec := range removed {
		for _, l := range rec.Layers {
			gone[strings.TrimPrefix(l, "sha256:")] = true
		}
	}
	var freed int64
	for _, dir := range []string{s.blobDir(), s.layersDir()} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return freed, err
		}
		for _, e := range entries {
			if _, err := v1.NewHash("sha256:" + e.Name()); err != nil || keep[e.Name()] {
				continue // temporaries and what is still in use
			}
			p := filepath.Join(dir, e.Name())
			if !gone[e.Name()] && !olderThan(p, grace) {
				continue
			}
			size := diskUsage(p)
			if err := os.RemoveAll(p); err != nil {
				return freed, fmt.Errorf("image store: %w", err)
			}
			freed += size
		}
	}
	return freed, nil
}

// olderThan reports whether p last changed (ctime: also set by rename)
// more than d ago.
func olderThan(p string, d time.Duration) bool {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return false
	}
	return time.Since(time.Unix(st.Ctim.Unix())) > d
}

// diskUsage sums the sizes of the files under p, each hard-linked file once.
func diskUsage(p string) int64 {
	var total int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += info.Size()
		return nil
	})
	return total
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
