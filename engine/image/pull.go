package image

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/composer-dev/compose/errdefs"
)

// PullOptions tune Pull.
type PullOptions struct {
	RegistryOptions
	// Platform picks the image of a multi-platform index: "linux/arm64",
	// "linux/arm/v7"; "" means this host's.
	Platform string
	Progress ProgressFunc
}

// Pull fetches ref from its registry into the store, like `docker pull`:
// layers the store has are neither downloaded nor unpacked again, the
// others are downloaded layerJobs at a time and verified against their
// digests before anything is recorded. The tag (if any) and the manifest
// digest (RepoDigests) are recorded for the image.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	full, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	want, explicit, err := pullPlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	rep := newReporter(opts.Progress, Familiar(full))
	rep.image("Pulling", false, nil)
	id, err := s.pull(ctx, full, want, explicit, opts, rep)
	if err != nil {
		rep.image("Error", true, err)
		return nil, err
	}
	rep.image("Pulled", true, nil)
	return s.Get(id)
}

func (s *Store) pull(ctx context.Context, full string, want v1.Platform, explicit bool, opts PullOptions, rep *reporter) (string, error) {
	shown := Familiar(full)
	r, err := opts.reference(full)
	if err != nil {
		return "", err
	}
	registry := r.Context().RegistryStr()
	fail := func(err error) (string, error) { return "", registryError(ctx, "pull", shown, registry, err) }
	desc, err := remote.Get(r, opts.remoteOptions(ctx, registry)...)
	if err != nil {
		return fail(err)
	}
	img, err := resolvePlatform(desc, want, explicit, shown)
	if err != nil {
		if errdefs.IsNotFound(err) || errdefs.IsInvalidArgument(err) {
			return "", err
		}
		return fail(err)
	}
	refs := []string{r.Context().Name() + "@" + desc.Digest.String()}
	if _, ok := r.(name.Tag); ok {
		refs = append(refs, full)
	}
	id, err := s.add(ctx, img, refs, addOptions{jobs: layerJobs, track: &pullTracker{rep: rep, early: map[string]bool{}}})
	if err != nil {
		return fail(err)
	}
	return id, nil
}

// pullPlatform parses PullOptions.Platform; explicit is false for the
// host's platform.
func pullPlatform(s string) (p v1.Platform, explicit bool, err error) {
	if s == "" {
		return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, false, nil
	}
	pp, err := v1.ParsePlatform(s)
	if err != nil || pp.OS == "" || pp.Architecture == "" {
		return v1.Platform{}, false, fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/arm64: %w", s, errdefs.ErrInvalidArgument)
	}
	return *pp, true, nil
}

// resolvePlatform resolves an index to the image for want. A single image is
// taken as it is unless the platform was asked for explicitly and differs.
func resolvePlatform(desc *remote.Descriptor, want v1.Platform, explicit bool, shown string) (v1.Image, error) {
	switch {
	case desc.MediaType == types.DockerManifestSchema1 || desc.MediaType == types.DockerManifestSchema1Signed:
		return nil, fmt.Errorf("%s: Docker schema 1 manifests are not supported: %w", shown, errdefs.ErrInvalidArgument)
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, m := range im.Manifests {
			if (m.MediaType == "" || m.MediaType.IsImage()) && m.Platform != nil && platformMatches(want, *m.Platform) {
				return idx.Image(m.Digest)
			}
		}
		return nil, notFound("no matching manifest for %s in the manifest list entries of %s", platformString(want), shown)
	}
	img, err := desc.Image()
	if err != nil || !explicit {
		return img, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	have := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	if cfg.OS != "" && !platformMatches(want, have) {
		return nil, notFound("image %s was found but does not match the specified platform: wanted %s, actual: %s",
			shown, platformString(want), platformString(have))
	}
	return img, nil
}

// platformMatches reports whether have satisfies want: same OS and
// architecture (aliases folded), and the variant when want names one.
func platformMatches(want, have v1.Platform) bool {
	wa, wv := normalizeArch(want.Architecture, want.Variant)
	ha, hv := normalizeArch(have.Architecture, have.Variant)
	return want.OS == have.OS && wa == ha && (wv == "" || wv == hv)
}

func normalizeArch(arch, variant string) (string, string) {
	switch arch {
	case "x86_64", "x86-64":
		arch = "amd64"
	case "aarch64":
		arch = "arm64"
	}
	switch {
	case arch == "arm64" && variant == "v8", arch == "amd64" && variant == "v1":
		variant = ""
	}
	return arch, variant
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pullTracker reports layer progress like Docker: "Pulling fs layer",
// "Waiting", "Downloading", "Verifying Checksum", "Download complete",
// "Extracting", "Pull complete", or "Already exists". Layers are downloaded
// and unpacked in one stream, so "Extracting" comes once the download is
// complete.
type pullTracker struct {
	rep   *reporter
	mu    sync.Mutex
	early map[string]bool // IDs reported "Already exists" when queued
}

func layerID(l v1.Layer) string {
	d, err := l.Digest()
	if err != nil {
		return ""
	}
	return shortID(d)
}

func (t *pullTracker) queued(l v1.Layer, have bool) {
	id := layerID(l)
	if have {
		t.mu.Lock()
		t.early[id] = true
		t.mu.Unlock()
		t.rep.layer(id, "Already exists", 0, 0, true, nil)
		return
	}
	t.rep.layer(id, "Pulling fs layer", 0, 0, false, nil)
	t.rep.layer(id, "Waiting", 0, 0, false, nil)
}

func (t *pullTracker) begin(l v1.Layer, have bool) v1.Layer {
	id := layerID(l)
	if have {
		t.mu.Lock()
		early := t.early[id]
		t.mu.Unlock()
		if !early {
			t.rep.layer(id, "Already exists", 0, 0, true, nil)
		}
		return l
	}
	return &pullLayer{Layer: l, id: id, rep: t.rep}
}

func (t *pullTracker) end(l v1.Layer, have bool, err error) {
	switch {
	case err != nil:
		t.rep.layer(layerID(l), "Error", 0, 0, true, err)
	case !have:
		t.rep.layer(layerID(l), "Pull complete", 0, 0, true, nil)
	}
}

// pullLayer is a remote layer whose uncompressed stream reports download
// progress and fails unless the compressed blob matched its digest.
type pullLayer struct {
	v1.Layer
	id      string
	rep     *reporter
	corrupt error // set when the whole blob arrived but failed its digest check
}

func (p *pullLayer) Uncompressed() (io.ReadCloser, error) {
	size, err := p.Size()
	if err != nil {
		return nil, err
	}
	rc, err := p.Compressed() // go-containerregistry checks size and digest at EOF
	if err != nil {
		return nil, err
	}
	add, flush := p.rep.bytes(p.id, "Downloading", size)
	counted := &countingReader{r: rc, add: add, closer: rc, atEOF: func() {
		flush()
		p.rep.layer(p.id, "Verifying Checksum", 0, 0, false, nil)
		p.rep.layer(p.id, "Download complete", 0, 0, false, nil)
		p.rep.layer(p.id, "Extracting", size, size, false, nil)
	}}
	u, err := partial.CompressedToLayer(compressedOnce{l: p.Layer, rc: counted})
	if err != nil {
		rc.Close()
		return nil, err
	}
	urc, err := u.Uncompressed() // detects gzip, zstd or plain
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &verifiedStream{ReadCloser: urc, compressed: counted, size: size, layer: p}, nil
}

// corruptErr explains a failed layer by its blob when the blob was corrupt:
// a flipped byte usually shows first as a decompression or tar error.
func (p *pullLayer) corruptErr() error { return p.corrupt }

// compressedOnce hands out one already opened compressed stream, so the
// decompression of go-containerregistry reads through our counter. It must
// not embed v1.Layer: partial.CompressedToLayer would use it as it is.
type compressedOnce struct {
	l  v1.Layer
	rc io.ReadCloser
}

func (c compressedOnce) Digest() (v1.Hash, error)            { return c.l.Digest() }
func (c compressedOnce) Compressed() (io.ReadCloser, error)  { return c.rc, nil }
func (c compressedOnce) Size() (int64, error)                { return c.l.Size() }
func (c compressedOnce) MediaType() (types.MediaType, error) { return c.l.MediaType() }

// verifiedStream is the uncompressed stream of a pullLayer. When it ends it
// reads the compressed stream to its end, so the digest is checked even if
// the decompressor stopped short, and reports a mismatch instead of io.EOF.
// Closed early (extraction failed), it still reads the blob to its end to
// tell a corrupt blob from other failures.
type verifiedStream struct {
	io.ReadCloser
	compressed *countingReader
	size       int64
	layer      *pullLayer
	err        error
}

func (v *verifiedStream) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.ReadCloser.Read(p)
	if err == io.EOF {
		if derr := v.drain(); derr != nil {
			v.err = derr
			return n, derr
		}
	}
	return n, err
}

func (v *verifiedStream) Close() error {
	if !v.compressed.eof && v.err == nil {
		v.drain()
	}
	return v.ReadCloser.Close()
}

func (v *verifiedStream) drain() error {
	_, err := io.Copy(io.Discard, v.compressed)
	// The digest is checked once all bytes are in: an error then means the
	// content is wrong, not that the transfer broke.
	if err != nil && v.compressed.n >= v.size {
		d, _ := v.layer.Digest()
		v.layer.corrupt = fmt.Errorf("downloaded blob %s does not match its digest: %v", d, err)
	}
	return err
}
