package image

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/busybox"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func archive(t *testing.T, oci bool, ref string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	write := busybox.WriteDockerArchive
	if oci {
		write = busybox.WriteOCIArchive
	}
	if err := write(p, ref); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadBusybox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		oci  bool
		gz   bool
		ref  string
		want string
		get  []string
	}{
		{name: "docker archive", ref: "busybox", want: "docker.io/library/busybox:latest",
			get: []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", "docker.io/busybox", "index.docker.io/library/busybox"}},
		{name: "oci archive", oci: true, ref: "busybox:1.36", want: "docker.io/library/busybox:1.36", get: []string{"busybox:1.36"}},
		{name: "gzip docker archive", gz: true, ref: "localhost:5000/app:1", want: "localhost:5000/app:1", get: []string{"localhost:5000/app:1"}},
		{name: "gzip oci archive", oci: true, gz: true, ref: "me/app:dev", want: "docker.io/me/app:dev", get: []string{"me/app:dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			b := archive(t, tt.oci, tt.ref)
			if tt.gz {
				b = gzipped(t, b)
			}
			loaded, err := s.Load(t.Context(), bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(loaded, []string{tt.want}) {
				t.Fatalf("loaded %v, want [%s]", loaded, tt.want)
			}
			for _, ref := range tt.get {
				img, err := s.Get(ref)
				if err != nil {
					t.Fatalf("Get(%q): %v", ref, err)
				}
				checkBusybox(t, img)
				if want := Familiar(tt.want); !slices.Equal(img.RepoTags, []string{want}) {
					t.Errorf("RepoTags %v, want [%s]", img.RepoTags, want)
				}
			}
		})
	}
}

func checkBusybox(t *testing.T, img *Image) {
	t.Helper()
	bb, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := bb.ConfigName()
	if img.ID != id.String() {
		t.Errorf("ID %s, want %s", img.ID, id)
	}
	if !slices.Equal(img.Config.Cmd, []string{"sh"}) {
		t.Errorf("Cmd %v, want [sh]", img.Config.Cmd)
	}
	if !img.Created.Equal(busybox.Created) {
		t.Errorf("Created %v", img.Created)
	}
	if len(img.LayerDirs) != 1 || !filepath.IsAbs(img.LayerDirs[0]) {
		t.Fatalf("LayerDirs %v", img.LayerDirs)
	}
	if l, err := os.Readlink(filepath.Join(img.LayerDirs[0], "bin", "sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	st, err := os.Stat(filepath.Join(img.LayerDirs[0], "bin", "busybox"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bin/busybox: %v", err)
	}
	if img.Size <= st.Size() {
		t.Errorf("Size %d, want more than busybox's %d", img.Size, st.Size())
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if _, err := s.Load(t.Context(), bytes.NewReader(archive(t, false, "busybox"))); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	hex := strings.TrimPrefix(img.ID, "sha256:")
	for _, ref := range []string{img.ID, hex, hex[:12], "sha256:" + hex[:6]} {
		got, err := s.Get(ref)
		if err != nil || got.ID != img.ID {
			t.Errorf("Get(%q) = %v, %v", ref, got, err)
		}
	}
	tests := []struct {
		ref, msg string
		class    error
	}{
		{ref: "busybox:1.0", msg: `image "busybox:1.0" not found`, class: errdefs.ErrNotFound},
		{ref: "nginx", msg: `image "nginx:latest" not found`, class: errdefs.ErrNotFound},
		{ref: "sha256:ffff", msg: `image "sha256:ffff" not found`, class: errdefs.ErrNotFound},
		{ref: "Bad Name!", msg: `image "Bad Name!" not found`, class: errdefs.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := s.Get(tt.ref)
		if !errors.Is(err, tt.class) || err.Error() != tt.msg {
			t.Errorf("Get(%q) error %q, want %q (%v)", tt.ref, err, tt.msg, tt.class)
		}
	}
}

func TestLoadSharesLayers(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if _, err := s.Load(t.Context(), bytes.NewReader(archive(t, false, "busybox"))); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	// A marker inside the unpacked layer survives only if the second load
	// does not unpack that layer again.
	marker := filepath.Join(img.LayerDirs[0], "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Load(t.Context(), bytes.NewReader(archive(t, true, "other:v2")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("layer was unpacked again: %v", err)
	}
	other, err := s.Get(loaded[0])
	if err != nil {
		t.Fatal(err)
	}
	if other.ID != img.ID || !slices.Equal(other.LayerDirs, img.LayerDirs) {
		t.Errorf("second image %v does not share %v", other, img)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !slices.Equal(list[0].RepoTags, []string{"busybox:latest", "other:v2"}) {
		t.Errorf("List = %+v", list)
	}
	entries, err := os.ReadDir(s.layersDir())
	if err != nil || len(entries) != 1 {
		t.Errorf("layers dir holds %v, %v; want one layer and no leftovers", entries, err)
	}
}

func TestLoadConcurrent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "images")
	b := archive(t, false, "busybox")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir) // separate Store values, like separate processes
			if err == nil {
				_, err = s.Load(t.Context(), bytes.NewReader(b))
			}
			if err == nil {
				ref := []string{"a", "b", "c", "d"}[i]
				_, err = s.Add(t.Context(), mustBusybox(t), ref)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := Open(dir)
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a:latest", "b:latest", "busybox:latest", "c:latest", "d:latest"}
	if len(list) != 1 || !slices.Equal(list[0].RepoTags, want) {
		t.Fatalf("List = %+v, want one image tagged %v", list, want)
	}
}

func mustBusybox(t *testing.T) v1.Image {
	img, err := busybox.Image()
	if err != nil {
		t.Error(err)
	}
	return img
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input []byte
	}{
		{name: "empty", input: nil},
		{name: "text", input: bytes.Repeat([]byte("not a tar file "), 100)},
		{name: "tar without index", input: makeTar(t, reg("hello.txt", "hi"))},
		{name: "bad manifest", input: makeTar(t, reg("manifest.json", "{not json"))},
		{name: "oci without images", input: makeTar(t, reg("oci-layout", `{"imageLayoutVersion":"1.0.0"}`), reg("index.json", `{"schemaVersion":2,"manifests":[]}`))},
		{name: "malicious layer", input: dockerArchive(t, makeTar(t, symlink("evil", "/"), reg("evil/tmp/pwned", "x")))},
		{name: "truncated gzip", input: gzipped(t, archive(t, false, "busybox"))[:1000]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			_, err := s.Load(t.Context(), bytes.NewReader(tt.input))
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("want invalid argument, got %v", err)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			if list, _ := s.List(); len(list) != 0 {
				t.Errorf("store holds %v after a failed load", list)
			}
			for _, d := range []string{s.layersDir(), s.tmpDir(), s.blobDir()} {
				if left, _ := os.ReadDir(d); len(left) != 0 {
					t.Errorf("%s holds leftovers: %v", d, left)
				}
			}
		})
	}
}

// dockerArchive wraps one layer tar into a `docker save` archive.
func dockerArchive(t *testing.T, layerTar []byte) []byte {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(name.MustParseReference("evil:latest"), img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenSweepsStaleTemporaries(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	// pid 0x7fffffff never exists; our own pid always does.
	stale := filepath.Join(s.layersDir(), ".tmp-2147483647-abc")
	live := filepath.Join(s.layersDir(), tempPrefix()+"abc")
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(s.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary kept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live temporary removed: %v", err)
	}
}

func TestTagRemoveAndV1Image(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if _, err := s.Load(t.Context(), bytes.NewReader(archive(t, false, "busybox"))); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(t.Context(), "busybox", "localhost:5000/bb:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(t.Context(), "nope", "x"); !errdefs.IsNotFound(err) {
		t.Errorf("Tag of a missing image: %v", err)
	}

	// The store's image round-trips through a docker archive unchanged.
	img, err := s.V1Image("localhost:5000/bb:1")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(name.MustParseReference("copy:1"), img, &buf); err != nil {
		t.Fatal(err)
	}
	other := openStore(t)
	if _, err := other.Load(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	orig, _ := s.Get("busybox")
	cp, err := other.Get("copy:1")
	if err != nil || cp.ID != orig.ID || cp.Size != orig.Size {
		t.Fatalf("copy %+v, %v; want ID %s size %d", cp, err, orig.ID, orig.Size)
	}

	untagged, deleted, err := s.Remove(t.Context(), "busybox")
	if err != nil || !slices.Equal(untagged, []string{"docker.io/library/busybox:latest"}) || len(deleted) != 0 {
		t.Fatalf("Remove(busybox) = %v, %v, %v", untagged, deleted, err)
	}
	if _, err := os.Stat(orig.LayerDirs[0]); err != nil {
		t.Fatalf("layer of a still-tagged image removed: %v", err)
	}
	untagged, deleted, err = s.Remove(t.Context(), orig.ID[:19])
	if err != nil || !slices.Equal(untagged, []string{"localhost:5000/bb:1"}) || !slices.Equal(deleted, []string{orig.ID}) {
		t.Fatalf("Remove(id) = %v, %v, %v", untagged, deleted, err)
	}
	if _, err := os.Stat(orig.LayerDirs[0]); !os.IsNotExist(err) {
		t.Errorf("unused layer kept: %v", err)
	}
	if left, _ := os.ReadDir(s.blobDir()); len(left) != 0 {
		t.Errorf("unused blobs kept: %v", left)
	}
	if _, _, err := s.Remove(t.Context(), "busybox"); !errdefs.IsNotFound(err) {
		t.Errorf("second Remove: %v", err)
	}
}

// TestLoadOCIMultiPlatform loads an OCI archive whose index points to a
// multi-platform index, as `docker save` and buildx write them.
func TestLoadOCIMultiPlatform(t *testing.T) {
	t.Parallel()
	bb := mustBusybox(t)
	foreign, err := mutate.ConfigFile(bb, &v1.ConfigFile{OS: "linux", Architecture: "s390x"})
	if err != nil {
		t.Fatal(err)
	}
	multi := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}},
		mutate.IndexAddendum{Add: bb, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}}},
	)
	top := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: multi, Descriptor: v1.Descriptor{
		Annotations: map[string]string{"org.opencontainers.image.ref.name": "ghcr.io/me/multi:2"},
	}})
	dir := t.TempDir()
	if _, err := layout.Write(dir, top); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	loaded, err := s.Load(t.Context(), bytes.NewReader(tarDir(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded, []string{"ghcr.io/me/multi:2"}) {
		t.Fatalf("loaded %v", loaded)
	}
	img, err := s.Get("ghcr.io/me/multi:2")
	if err != nil {
		t.Fatal(err)
	}
	checkBusybox(t, img)
}

// tarDir archives the regular files under dir.
func tarDir(t *testing.T, dir string) []byte {
	t.Helper()
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		entries = append(entries, reg(filepath.ToSlash(rel), string(b)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return makeTar(t, entries...)
}

// Loading, pulling or tagging an image stamps its LastTagTime, as Docker's
// image metadata does; the refresh pull policies compare with it.
func TestLastTagTime(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	before := time.Now().Add(-time.Second)
	if _, err := s.Load(t.Context(), bytes.NewReader(archive(t, false, "busybox"))); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	loaded := img.LastTagTime
	if loaded.Before(before) || loaded.After(time.Now()) {
		t.Fatalf("LastTagTime after load = %v", loaded)
	}
	if err := s.Tag(t.Context(), "busybox", "mine:1"); err != nil {
		t.Fatal(err)
	}
	img, err = s.Get("mine:1")
	if err != nil {
		t.Fatal(err)
	}
	if img.LastTagTime.Before(loaded) {
		t.Errorf("LastTagTime after tag = %v, before the load's %v", img.LastTagTime, loaded)
	}
}
