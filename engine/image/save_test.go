package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/composer-dev/compose/errdefs"
)

// withLayer returns base with one more layer made of entries.
func withLayer(t *testing.T, base v1.Image, entries ...entry) v1.Image {
	t.Helper()
	b := makeTar(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustAdd(t *testing.T, s *Store, img v1.Image, refs ...string) string {
	t.Helper()
	id, err := s.Add(t.Context(), img, refs...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func save(t *testing.T, s *Store, refs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(t.Context(), &buf, refs); err != nil {
		t.Fatalf("Save(%v): %v", refs, err)
	}
	return buf.Bytes()
}

// tarNames lists the entry names of a tar archive, in order.
func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}

// untar writes the directories and regular files of a trusted archive to a
// new directory.
func untar(t *testing.T, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func idOfImage(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func diffIDs(t *testing.T, img v1.Image) []string {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range cfg.RootFS.DiffIDs {
		ids = append(ids, h.String())
	}
	return ids
}

// TestSaveRoundTrip saves two images sharing a layer and reads the archive
// back as a docker archive, as an OCI layout and into a fresh store.
func TestSaveRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	bb := mustBusybox(t)
	app := withLayer(t, bb, dir("app/"), reg("app/hello.txt", "hello"))
	bbID := mustAdd(t, s, bb, "busybox", "busybox:1")
	appID := mustAdd(t, s, app, "localhost:5000/app:1")

	b := save(t, s, "busybox", "localhost:5000/app:1")

	names := tarNames(t, b)
	sharedLayer := "blobs/sha256/" + strings.TrimPrefix(diffIDs(t, bb)[0], "sha256:")
	seen := map[string]int{}
	for _, n := range names {
		seen[n]++
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("%s written %d times", n, c)
		}
	}
	for _, n := range []string{sharedLayer, "manifest.json", "index.json", "oci-layout", "repositories"} {
		if seen[n] != 1 {
			t.Errorf("archive lacks %s: %v", n, names)
		}
	}

	// As a docker archive (what `docker load` reads).
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || !slices.Equal(m[0].RepoTags, []string{"busybox:1", "busybox:latest"}) || !slices.Equal(m[1].RepoTags, []string{"localhost:5000/app:1"}) {
		t.Fatalf("manifest.json = %+v", m)
	}
	if m[0].Config != "blobs/sha256/"+strings.TrimPrefix(bbID, "sha256:") || m[0].Layers[0] != sharedLayer || m[1].Layers[0] != sharedLayer {
		t.Errorf("manifest.json paths: %+v", m)
	}
	for tag, want := range map[string]v1.Image{"busybox:1": bb, "localhost:5000/app:1": app} {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.Image(opener, &ref)
		if err != nil {
			t.Fatalf("tarball.Image(%s): %v", tag, err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: invalid docker archive image: %v", tag, err)
		}
		if idOfImage(t, img) != idOfImage(t, want) || !slices.Equal(diffIDs(t, img), diffIDs(t, want)) {
			t.Errorf("%s: config %s layers %v, want %s %v", tag, idOfImage(t, img), diffIDs(t, img), idOfImage(t, want), diffIDs(t, want))
		}
	}
	var repos map[string]map[string]string
	if err := json.Unmarshal(readTarFile(t, b, "repositories"), &repos); err != nil {
		t.Fatal(err)
	}
	if repos["busybox"]["latest"] != strings.TrimPrefix(sharedLayer, "blobs/sha256/") || repos["localhost:5000/app"]["1"] == "" {
		t.Errorf("repositories = %v", repos)
	}

	// As an OCI image layout (what Docker 25+ and OCI tools read).
	idx, err := layout.ImageIndexFromPath(untar(t, b))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docker.io/library/busybox:latest": bbID, "docker.io/library/busybox:1": bbID, "localhost:5000/app:1": appID,
	}
	got := map[string]string{}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		// validate.Image expects gzip layers; Docker's are uncompressed.
		if err := validate.Image(img, validate.Fast); err != nil {
			t.Errorf("%s: invalid OCI image: %v", d.Digest, err)
		}
		checkUncompressedLayers(t, img)
		n := d.Annotations[annotationContainerdName]
		if !strings.HasSuffix(n, ":"+d.Annotations[annotationRefName]) {
			t.Errorf("annotations %v", d.Annotations)
		}
		got[n] = idOfImage(t, img)
	}
	if len(got) != len(want) {
		t.Errorf("index.json names %v, want %v", got, want)
	}
	for n, id := range want {
		if got[n] != id {
			t.Errorf("index.json: %s -> %s, want %s", n, got[n], id)
		}
	}

	// Into a fresh store: same images, same tags.
	other := openStore(t)
	loaded, err := other.Load(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(loaded)
	if !slices.Equal(loaded, []string{"docker.io/library/busybox:1", "docker.io/library/busybox:latest", "localhost:5000/app:1"}) {
		t.Errorf("loaded %v", loaded)
	}
	for ref, id := range map[string]string{"busybox:1": bbID, "busybox": bbID, "localhost:5000/app:1": appID} {
		img, err := other.Get(ref)
		if err != nil || img.ID != id {
			t.Errorf("after load, Get(%s) = %v, %v; want %s", ref, img, err, id)
		}
	}
	if hello, err := os.ReadFile(filepath.Join(mustGet(t, other, "localhost:5000/app:1").LayerDirs[1], "app", "hello.txt")); err != nil || string(hello) != "hello" {
		t.Errorf("app/hello.txt = %q, %v", hello, err)
	}
	// Saving the same images again gives the same bytes.
	if again := save(t, s, "busybox", "localhost:5000/app:1"); !bytes.Equal(again, b) {
		t.Errorf("a second save differs")
	}
}

// checkUncompressedLayers checks that every layer is stored uncompressed,
// as Docker writes them: its digest is its diffID and its content matches.
func checkUncompressedLayers(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, _ := l.Digest()
		diffID, _ := l.DiffID()
		rc, err := l.Compressed() // the blob as stored
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || d != diffID || h != d {
			t.Errorf("layer digest %s, diffID %s, content %s (%v)", d, diffID, h, err)
		}
	}
}

func mustGet(t *testing.T, s *Store, ref string) *Image {
	t.Helper()
	img, err := s.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func readTarFile(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in archive: %v", name, err)
		}
		if hdr.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

func TestSaveSelection(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	bb := mustBusybox(t)
	bbID := mustAdd(t, s, bb, "busybox:latest", "busybox:1", "me/bb:2")
	tests := []struct {
		name     string
		refs     []string
		repoTags [][]string
		loaded   []string
	}{
		{"tag", []string{"busybox:1"}, [][]string{{"busybox:1"}}, []string{"docker.io/library/busybox:1"}},
		{"name saves every tag of the repository", []string{"busybox"}, [][]string{{"busybox:1", "busybox:latest"}},
			[]string{"docker.io/library/busybox:1", "docker.io/library/busybox:latest"}},
		{"same image twice is one entry", []string{"busybox:1", "me/bb:2"}, [][]string{{"busybox:1", "me/bb:2"}},
			[]string{"docker.io/library/busybox:1", "docker.io/me/bb:2"}},
		{"ID saves untagged", []string{bbID}, [][]string{nil}, []string{bbID}},
		{"ID prefix saves untagged", []string{strings.TrimPrefix(bbID, "sha256:")[:12]}, [][]string{nil}, []string{bbID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := save(t, s, tt.refs...)
			m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
			if err != nil {
				t.Fatal(err)
			}
			var tags [][]string
			for _, d := range m {
				tags = append(tags, d.RepoTags)
			}
			if !slices.EqualFunc(tags, tt.repoTags, slices.Equal) {
				t.Errorf("RepoTags %q, want %q", tags, tt.repoTags)
			}
			loaded, err := openStore(t).Load(t.Context(), bytes.NewReader(b))
			slices.Sort(loaded)
			if err != nil || !slices.Equal(loaded, tt.loaded) {
				t.Errorf("Load = %v, %v; want %v", loaded, err, tt.loaded)
			}
		})
	}
}

func TestSaveErrors(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustAdd(t, s, mustBusybox(t), "busybox")
	tests := []struct {
		name  string
		refs  []string
		class error
		msg   string
	}{
		{"unknown image", []string{"busybox", "nope:1"}, errdefs.ErrNotFound, `save: image "nope:1" not found`},
		{"unknown repository", []string{"ghcr.io/x/y"}, errdefs.ErrNotFound, `save: image "ghcr.io/x/y:latest" not found`},
		{"nothing to save", nil, errdefs.ErrInvalidArgument, "save: no image given: invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := s.Save(t.Context(), &buf, tt.refs)
			if !errors.Is(err, tt.class) || err.Error() != tt.msg {
				t.Errorf("Save error %q, want %q (%v)", err, tt.msg, tt.class)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}
