package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// Add stores img (its config and layers; layers already in the store are
// neither read nor unpacked again) and points refs at it. It returns the
// image ID. Pull and build use it; Load uses it for every archived image.
func (s *Store) Add(ctx context.Context, img v1.Image, refs ...string) (string, error) {
	return s.add(ctx, img, refs, addOptions{})
}

// addOptions tune how add stores layers.
type addOptions struct {
	jobs  int          // layers read at once; 0 means 1
	track layerTracker // may be nil
}

// layerTracker follows the layers add stores (pull progress) and may wrap
// the ones it reads.
type layerTracker interface {
	// queued is called first, in order, once per distinct layer; have
	// reports that the layer is stored already.
	queued(l v1.Layer, have bool)
	// begin is called when the layer's turn comes and returns the layer to
	// read; have reports that it got stored meanwhile.
	begin(l v1.Layer, have bool) v1.Layer
	// end is called last, once per distinct layer.
	end(l v1.Layer, have bool, err error)
}

func (s *Store) add(ctx context.Context, img v1.Image, refs []string, o addOptions) (string, error) {
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
	sizes, err := s.addLayers(ctx, layers, diffIDs, o)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", id, err)
	}
	rec := imageRecord{}
	for _, d := range diffIDs {
		rec.Layers = append(rec.Layers, d.String())
		rec.Size += sizes[d]
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
		rec.LastTagTime = idx.Images[id.String()].LastTagTime
		if len(full) > 0 {
			rec.LastTagTime = time.Now().UTC()
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

// addLayers stores each distinct layer once, o.jobs at a time, and returns
// the uncompressed sizes by diff ID.
func (s *Store) addLayers(ctx context.Context, layers []v1.Layer, diffIDs []v1.Hash, o addOptions) (map[v1.Hash]int64, error) {
	type job struct {
		l      v1.Layer
		diffID v1.Hash
	}
	var jobs []job
	seen := map[v1.Hash]bool{}
	for i, l := range layers {
		if !seen[diffIDs[i]] {
			seen[diffIDs[i]] = true
			jobs = append(jobs, job{l, diffIDs[i]})
		}
	}
	if o.track != nil {
		for _, j := range jobs {
			o.track.queued(j.l, s.hasLayer(j.diffID))
		}
	}
	var mu sync.Mutex
	sizes := map[v1.Hash]int64{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(o.jobs, 1))
	for _, j := range jobs {
		g.Go(func() (err error) {
			// One reader per layer in this process: a concurrent pull of an
			// image sharing it waits and then finds it stored.
			unlock := lockLayer(j.diffID)
			defer unlock()
			l, have := j.l, s.hasLayer(j.diffID)
			if o.track != nil {
				defer func() { o.track.end(j.l, have, err) }()
			}
			if err := gctx.Err(); err != nil {
				return err
			}
			if o.track != nil {
				l = o.track.begin(j.l, have)
			}
			size, err := s.addLayer(gctx, l, j.diffID)
			if err != nil {
				// A corrupt download is the real cause of what failed after it.
				if c, ok := l.(interface{ corruptErr() error }); ok && c.corruptErr() != nil {
					err = c.corruptErr()
				}
				return fmt.Errorf("layer %s: %w", j.diffID, err)
			}
			mu.Lock()
			sizes[j.diffID] = size
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		// Prefer the caller's cancellation over the errors it caused.
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return sizes, nil
}

// hasLayer reports whether a layer's blob and unpacked directory are stored.
func (s *Store) hasLayer(diffID v1.Hash) bool {
	if _, err := os.Stat(s.blobPath(diffID)); err != nil {
		return false
	}
	_, err := os.Stat(s.layerDir(diffID.String()))
	return err == nil
}

var layerLocks = struct {
	sync.Mutex
	m map[v1.Hash]*layerLock
}{m: map[v1.Hash]*layerLock{}}

type layerLock struct {
	sync.Mutex
	users int
}

// lockLayer serialises the goroutines of this process storing one layer.
func lockLayer(h v1.Hash) (unlock func()) {
	layerLocks.Lock()
	l := layerLocks.m[h]
	if l == nil {
		l = &layerLock{}
		layerLocks.m[h] = l
	}
	l.users++
	layerLocks.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		layerLocks.Lock()
		if l.users--; l.users == 0 {
			delete(layerLocks.m, h)
		}
		layerLocks.Unlock()
	}
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
