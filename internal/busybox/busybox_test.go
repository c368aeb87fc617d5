package busybox

import (
	"archive/tar"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestImage(t *testing.T) {
	t.Parallel()
	img, err := Image()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"sh"}) || !cfg.Created.Time.Equal(Created) || cfg.OS != "linux" {
		t.Errorf("config %+v", cfg)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %v, %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	want := map[string]string{"bin/sh": "busybox", "bin/ls": "busybox"}
	found := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		found[h.Name] = true
		if l, ok := want[h.Name]; ok && (h.Typeflag != tar.TypeSymlink || h.Linkname != l) {
			t.Errorf("%s: type %c -> %q", h.Name, h.Typeflag, h.Linkname)
		}
		if h.Name == "tmp/" && h.Mode != 0o1777 {
			t.Errorf("tmp mode %o", h.Mode)
		}
	}
	for _, p := range []string{"bin/busybox", "bin/sh", "etc/passwd", "etc/group", "tmp/", "var/www/"} {
		if !found[p] {
			t.Errorf("layer lacks %s", p)
		}
	}
	if found["bin/busybox"] && found["bin/busybox/"] {
		t.Error("busybox listed twice")
	}
}

func TestWriteDockerArchive(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "bb.tar")
	if err := WriteDockerArchive(p, "busybox:test"); err != nil {
		t.Fatal(err)
	}
	tag := name.MustParseReference("busybox:test").(name.Tag)
	got, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Image()
	want, _ := img.ConfigName()
	if id, err := got.ConfigName(); err != nil || id != want {
		t.Errorf("archived image ID %v (%v), want %v", id, err, want)
	}
	if err := WriteDockerArchive(p, "Not A Tag"); err == nil {
		t.Error("bad reference accepted")
	}
}
