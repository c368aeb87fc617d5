package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/composer-dev/compose/errdefs"
)

// Annotations naming an image in an OCI index.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

var errNotArchive = fmt.Errorf("input is not a docker save or OCI image archive: %w", errdefs.ErrInvalidArgument)

// Load reads a `docker save` archive (manifest.json) or an OCI image-layout
// archive (oci-layout + index.json), gzip-compressed or not, and stores every
// image in it. It returns what was loaded: normalized references
// ("docker.io/library/busybox:latest"), or the image ID for an untagged image.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("load: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}

	// tarball needs to re-read the archive, so spool it to disk.
	f, err := os.CreateTemp(s.tmpDir(), tempPrefix()+"load-*.tar")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, readerWithContext(ctx, r)); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("load: reading archive: %v: %w", err, errdefs.ErrInvalidArgument)
	}

	docker, oci, err := archiveKind(f.Name())
	if err != nil {
		return nil, err
	}
	switch {
	case docker: // Docker 25+ archives carry both; manifest.json has the tags.
		return s.loadDocker(ctx, f.Name())
	case oci:
		return s.loadOCI(ctx, f)
	default:
		return nil, fmt.Errorf("load: %w", errNotArchive)
	}
}

// archiveKind reports which index files the tar at p has.
func archiveKind(p string) (docker, oci bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var layoutFile, indexFile bool
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, false, fmt.Errorf("load: %w", errNotArchive)
		}
		switch path.Clean(strings.TrimPrefix(hdr.Name, "/")) {
		case "manifest.json":
			docker = true
		case "oci-layout":
			layoutFile = true
		case "index.json":
			indexFile = true
		}
	}
	return docker, layoutFile && indexFile, nil
}

func (s *Store) loadDocker(ctx context.Context, p string) ([]string, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("load: manifest.json: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var loaded []string
	for _, d := range m {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return loaded, fmt.Errorf("load: tag %q: %w", d.RepoTags[0], errdefs.ErrInvalidArgument)
			}
			tag = &t
		} else if len(m) > 1 {
			return loaded, fmt.Errorf("load: untagged image %s in a multi-image archive: %w", d.Config, errdefs.ErrInvalidArgument)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return loaded, fmt.Errorf("load: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		got, err := s.addLoaded(ctx, img, d.RepoTags)
		loaded = append(loaded, got...)
		if err != nil {
			return loaded, err
		}
	}
	return loaded, nil
}

func (s *Store) loadOCI(ctx context.Context, archive *os.File) ([]string, error) {
	dir, err := os.MkdirTemp(s.tmpDir(), tempPrefix()+"oci-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// The same confined extraction as layers: an archive cannot write
	// outside its temporary directory.
	if err := extractLayer(ctx, dir, archive); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("load: index.json: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var loaded []string
	for _, d := range im.Manifests {
		var img v1.Image
		switch {
		case d.MediaType.IsImage():
			img, err = idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			img, err = platformImage(idx, d.Digest)
		default:
			continue
		}
		if err != nil {
			return loaded, fmt.Errorf("load: %s: %w", d.Digest, err)
		}
		var refs []string
		if r := ociRefName(d.Annotations); r != "" {
			refs = append(refs, r)
		}
		got, err := s.addLoaded(ctx, img, refs)
		loaded = append(loaded, got...)
		if err != nil {
			return loaded, err
		}
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("load: OCI archive holds no image: %w", errdefs.ErrInvalidArgument)
	}
	return loaded, nil
}

// platformImage picks this host's image from a multi-platform index.
func platformImage(parent v1.ImageIndex, h v1.Hash) (v1.Image, error) {
	idx, err := parent.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS == runtime.GOOS && d.Platform.Architecture == runtime.GOARCH) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no %s/%s image in index: %w", runtime.GOOS, runtime.GOARCH, errdefs.ErrNotFound)
}

// ociRefName returns the image name from index annotations: containerd's
// full name, else ref.name when it is a full reference rather than a bare tag.
func ociRefName(a map[string]string) string {
	if n := a[annotationContainerdName]; n != "" {
		return n
	}
	if n := a[annotationRefName]; strings.ContainsAny(n, ":/") {
		return n
	}
	return ""
}

func (s *Store) addLoaded(ctx context.Context, img v1.Image, refs []string) ([]string, error) {
	var ok []string
	for _, r := range refs {
		n, err := Normalize(r)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		ok = append(ok, n)
	}
	id, err := s.Add(ctx, img, ok...)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(ok) == 0 {
		return []string{id}, nil
	}
	return ok, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func readerWithContext(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }
