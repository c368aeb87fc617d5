package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// These generators write archives in the shapes `docker save` produced
// before Docker 25 and since, independently of Save, so that Load is
// checked against what Docker writes rather than against our own output.

type fixtureImage struct {
	tags   []string // familiar form, as in manifest.json
	config []byte
	layers [][]byte // uncompressed tars, bottom first
}

func newFixtureImage(t *testing.T, img v1.Image, tags ...string) fixtureImage {
	t.Helper()
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	f := fixtureImage{tags: tags, config: raw}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		f.layers = append(f.layers, b)
	}
	return f
}

func hexOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type tarBuilder struct {
	t  *testing.T
	tw *tar.Writer
}

func (b tarBuilder) dir(name string) {
	b.t.Helper()
	if err := b.tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1700000000, 0)}); err != nil {
		b.t.Fatal(err)
	}
}

func (b tarBuilder) file(name string, data []byte) {
	b.t.Helper()
	if err := b.tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1700000000, 0)}); err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.tw.Write(data); err != nil {
		b.t.Fatal(err)
	}
}

func (b tarBuilder) json(name string, v any) {
	b.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	b.file(name, data)
}

func buildTar(t *testing.T, fn func(tarBuilder)) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	fn(tarBuilder{t: t, tw: tw})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// legacyDockerSave writes what Docker before 25 wrote: a directory per layer
// named by its v1 ID (layer.tar, json, VERSION), <config hex>.json,
// manifest.json and repositories.
func legacyDockerSave(t *testing.T, imgs ...fixtureImage) []byte {
	return buildTar(t, func(b tarBuilder) {
		type entry struct {
			Config   string
			RepoTags []string
			Layers   []string
		}
		var manifest []entry
		repos := map[string]map[string]string{}
		for _, img := range imgs {
			e := entry{Config: hexOf(img.config) + ".json", RepoTags: img.tags}
			parent := ""
			for i, l := range img.layers {
				// Docker derives v1 IDs from the chain; any stable unique value works.
				id := hexOf([]byte(parent + "/" + hexOf(l) + "/" + hexOf(img.config)[:i+1]))
				b.dir(id + "/")
				b.file(id+"/VERSION", []byte("1.0"))
				v1json := map[string]any{"id": id, "created": "2024-01-01T00:00:00Z", "container_config": map[string]any{"Cmd": nil}}
				if parent != "" {
					v1json["parent"] = parent
				}
				b.json(id+"/json", v1json)
				b.file(id+"/layer.tar", l)
				e.Layers = append(e.Layers, id+"/layer.tar")
				parent = id
			}
			b.file(e.Config, img.config)
			for _, tag := range img.tags {
				i := strings.LastIndex(tag, ":")
				if repos[tag[:i]] == nil {
					repos[tag[:i]] = map[string]string{}
				}
				repos[tag[:i]][tag[i+1:]] = parent
			}
			manifest = append(manifest, e)
		}
		b.json("manifest.json", manifest)
		b.json("repositories", repos)
	})
}

// docker25Save writes what Docker 25 and later write: an OCI image layout
// with uncompressed layers, plus manifest.json pointing into blobs/. With
// ociOnly it leaves manifest.json and repositories out, as an OCI tool would.
func docker25Save(t *testing.T, ociOnly bool, imgs ...fixtureImage) []byte {
	return buildTar(t, func(b tarBuilder) {
		type entry struct {
			Config   string
			RepoTags []string
			Layers   []string
		}
		var manifest []entry
		var index []map[string]any
		written := map[string]bool{}
		blob := func(data []byte) string {
			p := "blobs/sha256/" + hexOf(data)
			if !written[p] {
				written[p] = true
				b.file(p, data)
			}
			return p
		}
		b.dir("blobs/")
		b.dir("blobs/sha256/")
		for _, img := range imgs {
			e := entry{Config: blob(img.config), RepoTags: img.tags}
			var layers []map[string]any
			for _, l := range img.layers {
				e.Layers = append(e.Layers, blob(l))
				layers = append(layers, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + hexOf(l), "size": len(l)})
			}
			m, err := json.Marshal(map[string]any{
				"schemaVersion": 2,
				"mediaType":     "application/vnd.oci.image.manifest.v1+json",
				"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hexOf(img.config), "size": len(img.config)},
				"layers":        layers,
			})
			if err != nil {
				t.Fatal(err)
			}
			blob(m)
			for _, tag := range img.tags {
				full, err := Normalize(tag)
				if err != nil {
					t.Fatal(err)
				}
				index = append(index, map[string]any{
					"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + hexOf(m), "size": len(m),
					"annotations": map[string]string{
						"io.containerd.image.name":          full,
						"org.opencontainers.image.ref.name": tag[strings.LastIndex(tag, ":")+1:],
					},
				})
			}
			manifest = append(manifest, e)
		}
		b.json("index.json", map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})
		b.file("oci-layout", []byte(`{"imageLayoutVersion": "1.0.0"}`))
		if !ociOnly {
			b.json("manifest.json", manifest)
			b.json("repositories", map[string]any{})
		}
	})
}

// TestLoadDockerSaveFormats loads both archive shapes Docker writes, with two
// images sharing their base layer and a whiteout in a top layer.
func TestLoadDockerSaveFormats(t *testing.T) {
	t.Parallel()
	bb := mustBusybox(t)
	web := withLayer(t, bb, dir("srv/"), reg("srv/index.html", "<h1>hi</h1>"), withMode(reg("srv/run.sh", "#!/bin/sh\n"), 0o755))
	slim := withLayer(t, bb, dir("etc/"), reg("etc/.wh.group", ""))
	imgs := []fixtureImage{newFixtureImage(t, web, "web:1", "localhost:5000/web:1"), newFixtureImage(t, slim, "me/slim:latest")}
	tests := []struct {
		name    string
		archive []byte
	}{
		{"docker before 25", legacyDockerSave(t, imgs...)},
		{"docker 25 and later", docker25Save(t, false, imgs...)},
		{"docker 25 OCI part only", docker25Save(t, true, imgs...)},
		{"docker 25 gzipped", gzipped(t, docker25Save(t, false, imgs...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			loaded, err := s.Load(t.Context(), bytes.NewReader(tt.archive))
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(loaded)
			want := []string{"docker.io/library/web:1", "docker.io/me/slim:latest", "localhost:5000/web:1"}
			if !slices.Equal(loaded, want) {
				t.Fatalf("loaded %v, want %v", loaded, want)
			}
			w := mustGet(t, s, "web:1")
			if w.ID != idOfImage(t, web) || !slices.Equal(w.RepoTags, []string{"localhost:5000/web:1", "web:1"}) {
				t.Errorf("web: %s %v", w.ID, w.RepoTags)
			}
			sl := mustGet(t, s, "me/slim")
			if sl.ID != idOfImage(t, slim) || len(sl.LayerDirs) != 2 || sl.LayerDirs[0] != w.LayerDirs[0] {
				t.Errorf("slim %s layers %v, want %s sharing %s", sl.ID, sl.LayerDirs, idOfImage(t, slim), w.LayerDirs[0])
			}
			if b, err := os.ReadFile(filepath.Join(w.LayerDirs[1], "srv", "index.html")); err != nil || string(b) != "<h1>hi</h1>" {
				t.Errorf("srv/index.html = %q, %v", b, err)
			}
			if st, err := os.Stat(filepath.Join(w.LayerDirs[1], "srv", "run.sh")); err != nil || st.Mode().Perm() != 0o755 {
				t.Errorf("srv/run.sh: %v, %v", st, err)
			}
			var st unix.Stat_t
			err = unix.Lstat(filepath.Join(sl.LayerDirs[1], "etc", "group"), &st)
			if err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
				t.Errorf("etc/group in the top layer is not a whiteout: mode %o, %v", st.Mode, err)
			}
		})
	}
}
