// Package busybox makes a small but real container image from Debian's
// busybox-static (/bin/busybox), for tests, examples and demos that must not
// depend on a registry.
package busybox

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Binary is the statically linked busybox the image is made from.
const Binary = "/bin/busybox"

// Created is the fixed creation time of the image (and the mtime of its
// files), so the image ID only changes when the busybox binary does.
var Created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"www-data:x:33:33:www-data:/var/www:/bin/false\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group = "root:x:0:\nwww-data:x:33:\nnobody:x:65534:\n"
)

// Image returns the busybox image: one layer with /bin/busybox and a symlink
// per applet in /bin, /etc/passwd and /etc/group, /tmp (1777) and /var/www.
// It is built once per process.
func Image() (v1.Image, error) { return imageOnce() }

var imageOnce = sync.OnceValues(build)

func build() (v1.Image, error) {
	layerTar, err := layer()
	if err != nil {
		return nil, err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:   l,
		History: v1.History{Created: v1.Time{Time: Created}, CreatedBy: "busybox-static " + Binary},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: Created}
	cfg.OS = "linux"
	cfg.Architecture = runtime.GOARCH
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.Config.Cmd = []string{"sh"}
	return mutate.ConfigFile(img, cfg)
}

// applets lists the applet names the binary provides.
func applets() ([]string, error) {
	out, err := exec.Command(Binary, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", Binary, err)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if n != "busybox" && !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	return names, nil
}

// layer builds the uncompressed layer tar.
func layer() ([]byte, error) {
	bin, err := os.ReadFile(Binary)
	if err != nil {
		return nil, fmt.Errorf("busybox image needs Debian's busybox-static: %w", err)
	}
	names, err := applets()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(name string, typ byte, mode int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, ModTime: Created, Format: tar.FormatPAX}
	}
	dir := func(name string, mode int64) error { return tw.WriteHeader(hdr(name, tar.TypeDir, mode)) }
	file := func(name string, mode int64, data []byte) error {
		h := hdr(name, tar.TypeReg, mode)
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("bin/", 0o755) },
		func() error { return file("bin/busybox", 0o755, bin) },
		func() error {
			for _, n := range names {
				h := hdr("bin/"+n, tar.TypeSymlink, 0o777)
				h.Linkname = "busybox"
				if err := tw.WriteHeader(h); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return dir("etc/", 0o755) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("root/", 0o700) },
		func() error { return dir("tmp/", 0o1777) },
		func() error { return dir("var/", 0o755) },
		func() error { return dir("var/www/", 0o755) },
		tw.Close,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// WriteDockerArchive writes the image as `docker save` would, tagged ref.
func WriteDockerArchive(path, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("tag %q: %w", ref, err)
	}
	img, err := Image()
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}

// WriteOCIArchive writes the image as an OCI image-layout tar whose index
// names it ref the way Docker and containerd do (io.containerd.image.name
// with the full name, org.opencontainers.image.ref.name with the tag).
func WriteOCIArchive(path, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("tag %q: %w", ref, err)
	}
	img, err := Image()
	if err != nil {
		return err
	}
	desc, err := imageDescriptor(img)
	if err != nil {
		return err
	}
	full := tag.Context().Name() + ":" + tag.TagStr()
	if r := tag.Context().RegistryStr(); r == name.DefaultRegistry {
		full = "docker.io/" + tag.Context().RepositoryStr() + ":" + tag.TagStr()
	}
	desc.Annotations = map[string]string{
		"io.containerd.image.name":          full,
		"org.opencontainers.image.ref.name": tag.TagStr(),
	}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{*desc}})
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeOCI(f, img, index); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func imageDescriptor(img v1.Image) (*v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	sz, err := img.Size()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: mt, Digest: d, Size: sz}, nil
}

func writeOCI(w io.Writer, img v1.Image, index []byte) error {
	tw := tar.NewWriter(w)
	add := func(name string, data []byte) error {
		h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: Created}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	blob := func(h v1.Hash, data []byte) error { return add("blobs/"+h.Algorithm+"/"+h.Hex, data) }

	if err := add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := add("index.json", index); err != nil {
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, _ := img.Digest()
	if err := blob(digest, manifest); err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cfgName, _ := img.ConfigName()
	if err := blob(cfgName, cfg); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := blob(d, data); err != nil {
			return err
		}
	}
	return tw.Close()
}
