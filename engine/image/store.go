// Package image is the local image store: content-addressed blobs (config and
// uncompressed layer tars, named by digest) plus one unpacked directory per
// layer, shared by every image that has it and used directly as an overlayfs
// lowerdir. Images are loaded from `docker save` or OCI archives, or added as
// go-containerregistry images (pull, build).
//
// Layout under the store directory:
//
//	blobs/sha256/<hex>     verified blobs (image configs, layer tars by diffID)
//	layers/<diffID hex>/   unpacked layers, overlay form (whiteouts converted)
//	repositories.json      image IDs and the references that name them
//	tmp/                   spooled archives while loading
package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// Store is an image store rooted at one directory. It is safe for use by
// several processes at once: the index is changed under a file lock and every
// file appears by atomic rename.
type Store struct {
	dir string
	// DryRun (--dry-run): removals report what they would remove and
	// change nothing, not even the lock file.
	DryRun bool
}

// Image is an image in the store.
type Image struct {
	ID       string   // "sha256:<config digest>", Docker's image ID
	RepoTags []string // familiar form, as Docker prints them: "busybox:latest"
	// RepoDigests are "name@sha256:<manifest digest>" for images pulled from
	// (or pushed to) a registry, familiar form, as Docker prints them.
	RepoDigests []string
	Created     time.Time // from the image config
	Size        int64     // sum of the uncompressed layer sizes
	Config      v1.Config
	LayerDirs   []string  // absolute unpacked layer directories, bottom layer first
	LastTagTime time.Time // when a reference was last set on it; zero if never
}

// index is repositories.json.
type index struct {
	Images map[string]imageRecord `json:"images"` // by image ID
	Refs   map[string]string      `json:"refs"`   // normalized reference -> image ID
}

type imageRecord struct {
	Layers []string `json:"layers"` // diffIDs, bottom first
	Size   int64    `json:"size"`
	// LastTagTime is when a reference was last set on the image (pull,
	// build, load, tag): Docker's Metadata.LastTagTime, which the
	// pull_policy daily, weekly and every_<duration> compare with.
	LastTagTime time.Time `json:"last_tag_time,omitzero"`
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: abs}
	for _, d := range []string{s.blobDir(), s.layersDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
		sweepStale(d)
	}
	return s, nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) layersDir() string { return filepath.Join(s.dir, "layers") }
func (s *Store) layerDir(diffID string) string {
	return filepath.Join(s.layersDir(), strings.TrimPrefix(diffID, "sha256:"))
}
func (s *Store) tmpDir() string    { return filepath.Join(s.dir, "tmp") }
func (s *Store) indexPath() string { return filepath.Join(s.dir, "repositories.json") }

// Get finds an image by reference (busybox, busybox:latest and
// docker.io/library/busybox:latest are the same), by full ID
// ("sha256:...") or by an unambiguous ID prefix.
func (s *Store) Get(ref string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, err := idx.resolve(ref)
	if err != nil {
		return nil, err
	}
	return s.image(idx, id)
}

// List returns every image, newest first.
func (s *Store) List() ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	imgs := make([]Image, 0, len(idx.Images))
	for id := range idx.Images {
		img, err := s.image(idx, id)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, *img)
	}
	sort.Slice(imgs, func(i, j int) bool {
		if !imgs[i].Created.Equal(imgs[j].Created) {
			return imgs[i].Created.After(imgs[j].Created)
		}
		return imgs[i].ID < imgs[j].ID
	})
	return imgs, nil
}

func (idx *index) resolve(ref string) (string, error) {
	if hex, ok := strings.CutPrefix(ref, "sha256:"); ok {
		return idx.byPrefix(ref, hex)
	}
	full, perr := Normalize(ref)
	if perr == nil {
		if id, ok := idx.Refs[full]; ok {
			return id, nil
		}
	}
	if isHex(ref) {
		if id, err := idx.byPrefix(ref, ref); err == nil || !errdefs.IsNotFound(err) {
			return id, err
		}
	}
	shown := ref
	if perr == nil {
		shown = Familiar(full)
	}
	return "", fmt.Errorf("image %q %w", shown, errdefs.ErrNotFound)
}

func (idx *index) byPrefix(ref, prefix string) (string, error) {
	var found []string
	if isHex(prefix) {
		for id := range idx.Images {
			if strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), prefix) {
				found = append(found, id)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("image %q %w", ref, errdefs.ErrNotFound)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("image ID prefix %q matches %d images: %w", ref, len(found), errdefs.ErrInvalidArgument)
	}
}

func isHex(s string) bool {
	return s != "" && strings.Trim(s, "0123456789abcdef") == ""
}

// image builds the Image for a known ID from its config blob.
func (s *Store) image(idx *index, id string) (*Image, error) {
	rec, ok := idx.Images[id]
	if !ok {
		return nil, fmt.Errorf("image %q %w", id, errdefs.ErrNotFound)
	}
	h, err := v1.NewHash(id)
	if err != nil {
		return nil, fmt.Errorf("image %q: bad ID in index: %w", id, errdefs.ErrFailedPrecondition)
	}
	f, err := os.Open(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("image %q: config blob: %v: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	defer f.Close()
	cfg, err := v1.ParseConfigFile(f)
	if err != nil {
		return nil, fmt.Errorf("image %q: config: %v: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	img := &Image{ID: id, Created: cfg.Created.Time, Size: rec.Size, Config: cfg.Config, LastTagTime: rec.LastTagTime}
	for ref, rid := range idx.Refs {
		switch {
		case rid != id:
		case isDigestRef(ref):
			img.RepoDigests = append(img.RepoDigests, Familiar(ref))
		default:
			img.RepoTags = append(img.RepoTags, Familiar(ref))
		}
	}
	sort.Strings(img.RepoTags)
	sort.Strings(img.RepoDigests)
	for _, l := range rec.Layers {
		img.LayerDirs = append(img.LayerDirs, s.layerDir(l))
	}
	return img, nil
}

func (s *Store) readIndex() (*index, error) {
	idx := &index{Images: map[string]imageRecord{}, Refs: map[string]string{}}
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("image store %s: %v: %w", s.indexPath(), err, errdefs.ErrFailedPrecondition)
	}
	if idx.Images == nil {
		idx.Images = map[string]imageRecord{}
	}
	if idx.Refs == nil {
		idx.Refs = map[string]string{}
	}
	return idx, nil
}

// update changes the index under an exclusive file lock, so concurrent
// compose processes never lose each other's changes, and writes it
// atomically (temp file, fsync, rename).
func (s *Store) update(ctx context.Context, fn func(*index) error) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return s.writeIndex(b)
}

// lock takes the store's file lock, which serialises changes of the index
// across compose processes.
func (s *Store) lock(ctx context.Context) (*store.FileLock, error) {
	l, err := store.Lock(ctx, filepath.Join(s.dir, "repositories.lock"))
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return l, nil
}

// writeIndex replaces repositories.json atomically and durably.
func (s *Store) writeIndex(b []byte) error {
	return store.WriteFile(s.indexPath(), b, 0o600)
}

// refsOf lists the references naming id (normalized), sorted.
func (idx *index) refsOf(id string) []string {
	var refs []string
	for r, rid := range idx.Refs {
		if rid == id {
			refs = append(refs, r)
		}
	}
	slices.Sort(refs)
	return refs
}
