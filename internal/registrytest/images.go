package registrytest

import (
	"archive/tar"
	"bytes"
	"io"
	"runtime"
	"slices"
	"sort"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/composer-dev/compose/internal/busybox"
)

// PlatformFile is the file each image of MultiPlatform has, holding its
// platform ("linux/arm64"), so a test can tell which one was pulled.
const PlatformFile = "etc/platform"

// Layer returns a gzip layer of the given media type holding files
// (path -> content, regular files 0644).
func Layer(files map[string]string, mt types.MediaType) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n])), ModTime: busybox.Created}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(mt), tarball.WithCompressedCaching)
}

// Derive returns base with one more layer holding files, in base's
// manifest format, and the config's platform set to p when p is not nil.
func Derive(base v1.Image, files map[string]string, p *v1.Platform) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	lmt := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		lmt = types.DockerLayer
	}
	l, err := Layer(files, lmt)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: busybox.Created}, CreatedBy: "registrytest.Derive"}})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return img, nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(img, cfg)
}

// DockerFormat returns img as a Docker schema 2 image (Docker manifest,
// config and layer media types) with the same layers and config, so the
// same image ID.
func DockerFormat(img v1.Image) (v1.Image, error) {
	return rebuild(img, empty.Image, tarball.WithMediaType(types.DockerLayer)) // Docker schema 2 by default
}

// Zstd returns img as an OCI image with zstd-compressed layers and the same
// image ID.
func Zstd(img v1.Image) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	return rebuild(img, base, tarball.WithMediaType(types.OCILayerZStd), tarball.WithCompression(compression.ZStd))
}

// rebuild puts img's layers, made with opts, and config on base.
func rebuild(img, base v1.Image, opts ...tarball.LayerOption) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	opts = append(slices.Clip(opts), tarball.WithCompressedCaching)
	out := base
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		nl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}, opts...)
		if err != nil {
			return nil, err
		}
		if out, err = mutate.AppendLayers(out, nl); err != nil {
			return nil, err
		}
	}
	return mutate.ConfigFile(out, cfg)
}

// ForeignPlatforms are the platforms MultiPlatform adds besides the host's.
func ForeignPlatforms() []string {
	var ps []string
	for _, p := range []string{"linux/arm64", "linux/arm/v7", "linux/s390x"} {
		if p != "linux/"+runtime.GOARCH {
			ps = append(ps, p)
		}
	}
	return ps
}

// MultiPlatform returns an OCI index with the busybox image for the host
// (linux/GOARCH) and, for each of ForeignPlatforms, busybox plus a layer
// holding PlatformFile, with that platform in its config. The foreign
// images only need to be pullable and unpackable, not runnable.
func MultiPlatform() (v1.ImageIndex, error) {
	bb, err := busybox.Image()
	if err != nil {
		return nil, err
	}
	host, err := Derive(bb, map[string]string{PlatformFile: "linux/" + runtime.GOARCH}, nil)
	if err != nil {
		return nil, err
	}
	adds := []mutate.IndexAddendum{{Add: host, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}}}
	for _, s := range ForeignPlatforms() {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return nil, err
		}
		img, err := Derive(bb, map[string]string{PlatformFile: s}, p)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	// Foreign platforms first, so picking the first entry is a bug a test sees.
	slices.Reverse(adds)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}
