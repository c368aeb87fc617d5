package image

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/composer-dev/compose/errdefs"
)

// PushOptions tune Push.
type PushOptions struct {
	RegistryOptions
	Progress ProgressFunc
}

// Push uploads the image the store names ref to the registry in ref
// ("localhost:5000/app:1"; no registry means Docker Hub), like `docker
// push`: blobs the registry has already are not uploaded again ("Layer
// already exists"). It records and returns the manifest digest.
func (s *Store) Push(ctx context.Context, ref string, opts PushOptions) (string, error) {
	full, err := Normalize(ref)
	if err != nil {
		return "", err
	}
	shown := Familiar(full)
	if isDigestRef(full) {
		return "", fmt.Errorf("push %s: cannot push a digest reference: %w", shown, errdefs.ErrInvalidArgument)
	}
	img, err := s.V1Image(full)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return "", fmt.Errorf("an image does not exist locally with the tag: %s: %w", shown, errdefs.ErrNotFound)
		}
		return "", err
	}
	rep := newReporter(opts.Progress, shown)
	rep.image("Pushing", false, nil)
	digest, err := s.push(ctx, full, img, opts, rep)
	if err != nil {
		rep.image("Error", true, err)
		return "", err
	}
	rep.image("Pushed", true, nil)
	return digest, nil
}

func (s *Store) push(ctx context.Context, full string, img v1.Image, opts PushOptions, rep *reporter) (string, error) {
	shown := Familiar(full)
	r, err := opts.reference(full)
	if err != nil {
		return "", err
	}
	registry := r.Context().RegistryStr()
	fail := func(err error) (string, error) { return "", registryError(ctx, "push", shown, registry, err) }
	pusher, err := remote.NewPusher(opts.remoteOptions(ctx, registry)...)
	if err != nil {
		return fail(err)
	}
	layers, err := pushLayers(img, rep)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", shown, err)
	}
	for _, l := range layers {
		rep.layer(l.id, "Waiting", 0, 0, false, nil)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(layerJobs)
	for _, l := range layers {
		g.Go(func() error {
			err := pusher.Upload(gctx, r.Context(), l)
			switch {
			case err != nil:
				rep.layer(l.id, "Error", 0, 0, true, err)
			case l.uploaded.Load():
				rep.layer(l.id, "Pushed", 0, 0, true, nil)
			default:
				rep.layer(l.id, "Layer already exists", 0, 0, true, nil)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	// The layers are there now; this uploads the config and the manifest.
	all := make([]v1.Layer, len(layers))
	for i, l := range layers {
		all[i] = l
	}
	if err := pusher.Push(ctx, r, &pushImage{Image: img, layers: all}); err != nil {
		return fail(err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	digestRef := r.Context().Name() + "@" + d.String()
	if err := s.recordDigest(ctx, id.String(), digestRef); err != nil {
		return "", err
	}
	return d.String(), nil
}

// recordDigest adds a RepoDigest to a stored image.
func (s *Store) recordDigest(ctx context.Context, id, ref string) error {
	full, err := Normalize(ref)
	if err != nil {
		return err
	}
	return s.update(ctx, func(idx *index) error {
		if _, ok := idx.Images[id]; !ok {
			return fmt.Errorf("image %s was removed while pushing: %w", id, errdefs.ErrNotFound)
		}
		idx.Refs[full] = id
		return nil
	})
}

// pushLayers returns img's distinct layers, each named by the digest its
// manifest gives it, so a layer is compressed once to name it and once
// more only if it must be uploaded.
func pushLayers(img v1.Image, rep *reporter) ([]*pushLayer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%d layers but %d diff IDs: %w", len(m.Layers), len(cfg.RootFS.DiffIDs), errdefs.ErrFailedPrecondition)
	}
	var out []*pushLayer
	seen := map[v1.Hash]bool{}
	for i, desc := range m.Layers {
		if seen[desc.Digest] {
			continue
		}
		seen[desc.Digest] = true
		diffID := cfg.RootFS.DiffIDs[i]
		l, err := img.LayerByDiffID(diffID)
		if err != nil {
			return nil, err
		}
		out = append(out, &pushLayer{Layer: l, desc: desc, id: shortID(diffID), rep: rep})
	}
	return out, nil
}

// pushLayer reports upload progress and whether it was uploaded at all.
type pushLayer struct {
	v1.Layer
	desc     v1.Descriptor
	id       string // Docker shows the short diff ID when pushing
	rep      *reporter
	uploaded atomic.Bool
}

func (l *pushLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *pushLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *pushLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

func (l *pushLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	l.uploaded.Store(true)
	add, flush := l.rep.bytes(l.id, "Pushing", l.desc.Size)
	return &countingReader{r: rc, add: add, atEOF: flush, closer: rc}, nil
}

// pushImage is an image whose layers are the given pushLayers.
type pushImage struct {
	v1.Image
	layers []v1.Layer
}

func (i *pushImage) Layers() ([]v1.Layer, error) { return i.layers, nil }

func (i *pushImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, l := range i.layers {
		if d, _ := l.Digest(); d == h {
			return l, nil
		}
	}
	return i.Image.LayerByDigest(h)
}
