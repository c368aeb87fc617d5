package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/composer-dev/compose/errdefs"
)

// Save writes a `docker save` archive of the images refs name (references
// or IDs) to w, in the shape Docker 25 and later write: the blobs of an OCI
// image layout (oci-layout, index.json, blobs/sha256/...) plus manifest.json
// and repositories pointing into them, so both older and newer `docker
// load`, and OCI tools, accept it. Like `docker save`, a reference keeps its
// tag, a bare name ("busybox") saves every tag of that repository, and an ID
// saves the image untagged. A layer shared by several images is written once.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string) error {
	if len(refs) == 0 {
		return fmt.Errorf("save: no image given: %w", errdefs.ErrInvalidArgument)
	}
	p, err := s.planSave(ctx, refs)
	if err != nil {
		return err
	}
	defer p.close()
	return p.write(ctx, w)
}

// savePlan is what Save writes, with every blob opened under the store lock
// so a concurrent Remove or Prune cannot take it away while it is written.
type savePlan struct {
	images []*savedImage
	blobs  map[v1.Hash]*os.File // layer blobs by diffID
}

type savedImage struct {
	id     v1.Hash
	config []byte
	layers []v1.Hash // diffIDs, bottom first
	tags   []string  // normalized "repo:tag"
}

func (p *savePlan) close() {
	for _, f := range p.blobs {
		f.Close()
	}
}

func (s *Store) planSave(ctx context.Context, refs []string) (_ *savePlan, retErr error) {
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	p := &savePlan{blobs: map[v1.Hash]*os.File{}}
	defer func() {
		if retErr != nil {
			p.close()
		}
	}()
	byID := map[string]*savedImage{}
	for _, ref := range refs {
		found, err := idx.saveTargets(ref)
		if err != nil {
			return nil, fmt.Errorf("save: %w", err)
		}
		for _, id := range slices.Sorted(maps.Keys(found)) {
			img := byID[id]
			if img == nil {
				if img, err = s.openSaved(idx, id, p.blobs); err != nil {
					return nil, fmt.Errorf("save: %w", err)
				}
				byID[id] = img
				p.images = append(p.images, img)
			}
			for _, t := range found[id] {
				if !slices.Contains(img.tags, t) {
					img.tags = append(img.tags, t)
				}
			}
		}
	}
	return p, nil
}

// saveTargets resolves one argument of Save to image IDs and the tags to
// keep for each (sorted), the way `docker save` reads its arguments.
func (idx *index) saveTargets(ref string) (map[string][]string, error) {
	if repo, ok := nameOnly(ref); ok {
		found := map[string][]string{}
		for r, id := range idx.Refs {
			if strings.HasPrefix(r, repo+":") {
				found[id] = append(found[id], r)
			}
		}
		if len(found) > 0 {
			for _, tags := range found {
				slices.Sort(tags)
			}
			return found, nil
		}
	}
	id, err := idx.resolve(ref)
	if err != nil {
		return nil, err
	}
	var tags []string
	if full, err := Normalize(ref); err == nil && idx.Refs[full] == id && !strings.Contains(full, "@") {
		tags = append(tags, full)
	}
	return map[string][]string{id: tags}, nil
}

// nameOnly returns the normalized repository of a reference that names no
// tag and no digest ("busybox", "localhost:5000/app").
func nameOnly(ref string) (string, bool) {
	if strings.Contains(ref, "@") || strings.HasPrefix(ref, "sha256:") {
		return "", false
	}
	if strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		return "", false
	}
	full, err := Normalize(ref)
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(full, ":latest"), true
}

func (s *Store) openSaved(idx *index, id string, open map[v1.Hash]*os.File) (*savedImage, error) {
	h, err := v1.NewHash(id)
	if err != nil {
		return nil, fmt.Errorf("image %q: bad ID in index: %w", id, errdefs.ErrFailedPrecondition)
	}
	raw, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("image %q: config blob: %v: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	img := &savedImage{id: h, config: raw}
	for _, l := range idx.Images[id].Layers {
		lh, err := v1.NewHash(l)
		if err != nil {
			return nil, fmt.Errorf("image %q: bad layer %q in index: %w", id, l, errdefs.ErrFailedPrecondition)
		}
		img.layers = append(img.layers, lh)
		if open[lh] != nil {
			continue
		}
		f, err := os.Open(s.blobPath(lh))
		if err != nil {
			return nil, fmt.Errorf("image %q: layer %s: %v: %w", id, l, err, errdefs.ErrFailedPrecondition)
		}
		open[lh] = f
	}
	return img, nil
}

// manifestEntry is one image in manifest.json, as `docker save` writes it.
type manifestEntry struct {
	Config   string
	RepoTags []string // null for an untagged image, as Docker writes it
	Layers   []string
}

func blobName(h v1.Hash) string { return "blobs/sha256/" + h.Hex }

func (p *savePlan) write(ctx context.Context, w io.Writer) error {
	aw := &archiveWriter{tw: tar.NewWriter(w), written: map[string]bool{}}
	aw.dir("blobs/")
	aw.dir("blobs/sha256/")
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	manifest := []manifestEntry{}
	repos := map[string]map[string]string{}
	for _, img := range p.images {
		m := v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: img.id, Size: int64(len(img.config))},
			Layers:        []v1.Descriptor{},
		}
		aw.bytes(blobName(img.id), img.config)
		entry := manifestEntry{Config: blobName(img.id), Layers: []string{}}
		for _, l := range img.layers {
			f := p.blobs[l]
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			aw.file(ctx, blobName(l), f, st.Size())
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCIUncompressedLayer, Digest: l, Size: st.Size()})
			entry.Layers = append(entry.Layers, blobName(l))
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		desc := v1.Descriptor{MediaType: m.MediaType, Size: int64(len(raw)), Digest: sha256Of(raw)}
		aw.bytes(blobName(desc.Digest), raw)
		if len(img.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range img.tags {
			repo, tag := splitRef(t)
			d := desc
			// The names Docker and containerd give an image in an index.
			d.Annotations = map[string]string{annotationContainerdName: t, annotationRefName: tag}
			index.Manifests = append(index.Manifests, d)
			entry.RepoTags = append(entry.RepoTags, Familiar(t))
			if len(img.layers) > 0 {
				if repos[Familiar(repo)] == nil {
					repos[Familiar(repo)] = map[string]string{}
				}
				repos[Familiar(repo)][tag] = img.layers[len(img.layers)-1].Hex
			}
		}
		manifest = append(manifest, entry)
	}
	aw.json("oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"})
	aw.json("index.json", index)
	aw.json("manifest.json", manifest)
	if len(repos) > 0 {
		aw.json("repositories", repos)
	}
	if aw.err != nil {
		return fmt.Errorf("save: %w", aw.err)
	}
	if err := aw.tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// splitRef splits a normalized "repo:tag" at the tag.
func splitRef(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	return ref[:i], ref[i+1:]
}

func sha256Of(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h
}

// archiveWriter writes tar entries, each name once, and keeps the first error.
type archiveWriter struct {
	tw      *tar.Writer
	written map[string]bool
	err     error
}

// archiveTime is the modification time of every entry: archives of the same
// images are then byte-for-byte the same.
var archiveTime = time.Unix(0, 0)

func (a *archiveWriter) header(name string, typ byte, mode, size int64) bool {
	if a.err != nil || a.written[name] {
		return false
	}
	a.written[name] = true
	a.err = a.tw.WriteHeader(&tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, ModTime: archiveTime, Format: tar.FormatPAX})
	return a.err == nil
}

func (a *archiveWriter) dir(name string) { a.header(name, tar.TypeDir, 0o755, 0) }

func (a *archiveWriter) bytes(name string, b []byte) {
	if a.header(name, tar.TypeReg, 0o444, int64(len(b))) {
		_, a.err = a.tw.Write(b)
	}
}

func (a *archiveWriter) json(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.err = err
		return
	}
	a.bytes(name, b)
}

func (a *archiveWriter) file(ctx context.Context, name string, f *os.File, size int64) {
	if !a.header(name, tar.TypeReg, 0o444, size) {
		return
	}
	n, err := io.Copy(a.tw, readerWithContext(ctx, io.NewSectionReader(f, 0, size)))
	if err == nil && n != size {
		err = fmt.Errorf("blob %s changed while saving: %w", name, errdefs.ErrConflict)
	}
	a.err = err
}
