package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/registrytest"
)

// anonymous is a keychain without credentials, so tests never read the
// machine's Docker config.
var anonymous = authn.NewMultiKeychain()

func pullOpts(p *recorder) PullOptions {
	return PullOptions{RegistryOptions: RegistryOptions{Keychain: anonymous}, Progress: p.record}
}

// recorder collects progress events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) record(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// statuses returns the statuses seen for a layer or image ID.
func (r *recorder) statuses(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, e := range r.events {
		if e.ID == id {
			s = append(s, e.Status)
		}
	}
	return s
}

// checkDone fails unless every layer's last event is final and the image's
// last event is want.
func (r *recorder) checkDone(t *testing.T, image, want string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[string]Event{}
	for _, e := range r.events {
		if prev, ok := last[e.ID]; ok && prev.Done {
			t.Errorf("event %+v after the final one %+v", e, prev)
		}
		last[e.ID] = e
	}
	for id, e := range last {
		if id != image && !e.Done {
			t.Errorf("layer %s ends with %q, not done", id, e.Status)
		}
	}
	if e := last[image]; e.Status != want || !e.Done {
		t.Errorf("image %s ends with %+v, want %q", image, e, want)
	}
}

func (r *recorder) layerIDs(image string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, e := range r.events {
		if e.Parent == image && !slices.Contains(ids, e.ID) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	bb, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	return bb
}

func configName(t *testing.T, img v1.Image) string {
	t.Helper()
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// storeEntries lists what is under the store's blobs and layers
// directories, temporaries included.
func storeEntries(t *testing.T, s *Store) []string {
	t.Helper()
	var names []string
	for _, d := range []string{s.blobDir(), s.layersDir()} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, filepath.Base(d)+"/"+e.Name())
		}
	}
	return names
}

func TestPullSinglePlatform(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	bb := busyboxImage(t)
	docker, err := registrytest.DockerFormat(bb)
	if err != nil {
		t.Fatal(err)
	}
	zstd, err := registrytest.Zstd(bb)
	if err != nil {
		t.Fatal(err)
	}
	ociDigest := reg.Push(t, "oci/bb:1", bb)
	dockerDigest := reg.Push(t, "docker/bb:1", docker)
	zstdDigest := reg.Push(t, "zstd/bb:1", zstd)

	tests := []struct {
		name     string
		ref      string
		tags     []string
		digest   string // RepoDigest recorded
		getByRef []string
	}{
		{name: "oci by tag", ref: reg.Ref("oci/bb:1"), tags: []string{reg.Ref("oci/bb:1")}, digest: reg.Ref("oci/bb@" + ociDigest)},
		{name: "docker schema 2 by tag", ref: reg.Ref("docker/bb:1"), tags: []string{reg.Ref("docker/bb:1")}, digest: reg.Ref("docker/bb@" + dockerDigest)},
		{name: "oci zstd by tag", ref: reg.Ref("zstd/bb:1"), tags: []string{reg.Ref("zstd/bb:1")}, digest: reg.Ref("zstd/bb@" + zstdDigest)},
		{name: "by digest", ref: reg.Ref("oci/bb@" + ociDigest), digest: reg.Ref("oci/bb@" + ociDigest)},
		{name: "tag and digest", ref: reg.Ref("oci/bb:1@" + ociDigest), digest: reg.Ref("oci/bb@" + ociDigest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			var rec recorder
			img, err := s.Pull(t.Context(), tt.ref, pullOpts(&rec))
			if err != nil {
				t.Fatal(err)
			}
			checkBusybox(t, img)
			if !slices.Equal(img.RepoTags, tt.tags) {
				t.Errorf("RepoTags %v, want %v", img.RepoTags, tt.tags)
			}
			if !slices.Equal(img.RepoDigests, []string{tt.digest}) {
				t.Errorf("RepoDigests %v, want [%s]", img.RepoDigests, tt.digest)
			}
			got, err := s.Get(tt.digest)
			if err != nil || got.ID != img.ID {
				t.Fatalf("Get(%q) = %v, %v; want %s", tt.digest, got, err, img.ID)
			}
			shown := Familiar(mustNormalize(t, tt.ref))
			rec.checkDone(t, shown, "Pulled")
			ids := rec.layerIDs(shown)
			if len(ids) != 1 {
				t.Fatalf("layer events for %v, want one layer", ids)
			}
			want := []string{"Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete", "Extracting", "Pull complete"}
			if st := slices.Compact(rec.statuses(ids[0])); !slices.Equal(st, want) {
				t.Errorf("layer statuses %v, want %v", st, want)
			}
		})
	}
}

func mustNormalize(t *testing.T, ref string) string {
	t.Helper()
	full, err := Normalize(ref)
	if err != nil {
		t.Fatal(err)
	}
	return full
}

func TestPullMultiPlatform(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	idx, err := registrytest.MultiPlatform()
	if err != nil {
		t.Fatal(err)
	}
	indexDigest := reg.PushIndex(t, "multi:1", idx)
	host := "linux/" + runtimeArch()
	tests := []struct {
		platform string
		want     string // PlatformFile content
		err      error
	}{
		{platform: "", want: host},
		{platform: host, want: host},
		{platform: registrytest.ForeignPlatforms()[0], want: registrytest.ForeignPlatforms()[0]},
		{platform: "linux/arm/v7", want: "linux/arm/v7"},
		{platform: "linux/ppc64le", err: errdefs.ErrNotFound},
		{platform: "linux", err: errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run("platform="+tt.platform, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			ref := reg.Ref("multi:1")
			opts := pullOpts(&recorder{})
			opts.Platform = tt.platform
			img, err := s.Pull(t.Context(), ref, opts)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				if errors.Is(err, errdefs.ErrNotFound) && (!strings.Contains(err.Error(), tt.platform) || !strings.Contains(err.Error(), ref)) {
					t.Errorf("error %q should name the platform and the image", err)
				}
				if imgs, _ := s.List(); len(imgs) != 0 {
					t.Errorf("store has %d images after a failed pull", len(imgs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			top := img.LayerDirs[len(img.LayerDirs)-1]
			b, err := os.ReadFile(filepath.Join(top, registrytest.PlatformFile))
			if err != nil || string(b) != tt.want {
				t.Fatalf("pulled image for %q, want %q (%v)", b, tt.want, err)
			}
			// Docker records the index digest, whichever image it picked.
			if want := []string{reg.Ref("multi@" + indexDigest)}; !slices.Equal(img.RepoDigests, want) {
				t.Errorf("RepoDigests %v, want %v", img.RepoDigests, want)
			}
		})
	}
}

func TestPullSharesLayers(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	bb := busyboxImage(t)
	app, err := registrytest.Derive(bb, map[string]string{"app/version": "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "bb:1", bb)
	reg.Push(t, "app:1", app)
	proxy := registrytest.NewProxy(t, reg)
	layers, _ := bb.Layers()
	base, _ := layers[0].Digest()

	s := openStore(t)
	if _, err := s.Pull(t.Context(), proxy.Ref("bb:1"), pullOpts(&recorder{})); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	img, err := s.Pull(t.Context(), proxy.Ref("app:1"), pullOpts(&rec))
	if err != nil {
		t.Fatal(err)
	}
	if n := proxy.BlobGets(base.String()); n != 1 {
		t.Errorf("base layer downloaded %d times, want 1", n)
	}
	if st := rec.statuses(shortID(base)); !slices.Equal(st, []string{"Already exists"}) {
		t.Errorf("base layer statuses %v, want [Already exists]", st)
	}
	rec.checkDone(t, proxy.Ref("app:1"), "Pulled")
	if len(img.LayerDirs) != 2 {
		t.Fatalf("LayerDirs %v", img.LayerDirs)
	}
	bbImg, err := s.Get(proxy.Ref("bb:1"))
	if err != nil {
		t.Fatal(err)
	}
	if img.LayerDirs[0] != bbImg.LayerDirs[0] {
		t.Errorf("base layer dirs differ: %s, %s", img.LayerDirs[0], bbImg.LayerDirs[0])
	}

	// Pulling the same image again downloads no layer at all.
	before := proxy.TotalBlobGets()
	if _, err := s.Pull(t.Context(), proxy.Ref("app:1"), pullOpts(&recorder{})); err != nil {
		t.Fatal(err)
	}
	if n := proxy.TotalBlobGets() - before; n > 1 { // the config at most
		t.Errorf("second pull downloaded %d blobs", n)
	}
}

func TestPullConcurrentSharedLayer(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	bb := busyboxImage(t)
	var refs []string
	for i, v := range []string{"a", "b", "c"} {
		img, err := registrytest.Derive(bb, map[string]string{"v": v}, nil)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, reg.Ref("app:"+v))
		reg.Push(t, "app:"+v, img)
		_ = i
	}
	proxy := registrytest.NewProxy(t, reg)
	s := openStore(t)
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	for i, r := range refs {
		wg.Go(func() {
			_, errs[i] = s.Pull(t.Context(), strings.Replace(r, reg.Addr, proxy.Addr, 1), pullOpts(&recorder{}))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	layers, _ := bb.Layers()
	base, _ := layers[0].Digest()
	if n := proxy.BlobGets(base.String()); n != 1 {
		t.Errorf("shared layer downloaded %d times by concurrent pulls, want 1", n)
	}
}

func TestPullAuth(t *testing.T) {
	// Not parallel: it sets DOCKER_CONFIG for the default keychain.
	reg := registrytest.Start(t, registrytest.Options{Auth: true})
	reg.Push(t, "private/bb:1", busyboxImage(t))
	ref := reg.Ref("private/bb:1")

	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials
	s := openStore(t)
	_, err := s.Pull(t.Context(), ref, PullOptions{})
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "pull access denied for "+reg.Ref("private/bb")) {
		t.Fatalf("pull without credentials: %v; want pull access denied (not found)", err)
	}
	t.Logf("%s", err)

	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
	img, err := s.Pull(t.Context(), ref, PullOptions{})
	if err != nil {
		t.Fatalf("pull with DOCKER_CONFIG credentials: %v", err)
	}
	checkBusybox(t, img)

	// Push with the same credentials.
	if err := s.Tag(t.Context(), ref, reg.Ref("private/copy:2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(t.Context(), reg.Ref("private/copy:2"), PushOptions{}); err != nil {
		t.Fatalf("push with DOCKER_CONFIG credentials: %v", err)
	}
	_, err = s.Push(t.Context(), reg.Ref("private/copy:2"), PushOptions{RegistryOptions: RegistryOptions{Keychain: anonymous}})
	if err == nil || !strings.Contains(err.Error(), "push access denied") {
		t.Fatalf("push without credentials: %v; want push access denied", err)
	}
}

func TestPushThenPull(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	src := openStore(t)
	app, err := registrytest.Derive(busyboxImage(t), map[string]string{"app/main": "hello"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("team/app:1")
	id, err := src.Add(t.Context(), app, ref)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	opts := PushOptions{RegistryOptions: RegistryOptions{Keychain: anonymous}, Progress: rec.record}
	digest, err := src.Push(t.Context(), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	rec.checkDone(t, ref, "Pushed")
	for _, l := range rec.layerIDs(ref) {
		if st := rec.statuses(l); st[len(st)-1] != "Pushed" {
			t.Errorf("first push: layer %s statuses %v, want Pushed last", l, st)
		}
	}
	img, err := src.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest := reg.Ref("team/app@" + digest)
	if !slices.Equal(img.RepoDigests, []string{wantDigest}) {
		t.Errorf("RepoDigests after push %v, want [%s]", img.RepoDigests, wantDigest)
	}

	// A second push uploads no layer.
	var again recorder
	opts.Progress = again.record
	digest2, err := src.Push(t.Context(), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if digest2 != digest {
		t.Errorf("second push digest %s, want %s", digest2, digest)
	}
	ids := again.layerIDs(ref)
	if len(ids) != 2 {
		t.Fatalf("second push layer events for %v, want 2 layers", ids)
	}
	for _, l := range ids {
		if st := again.statuses(l); !slices.Equal(st, []string{"Waiting", "Layer already exists"}) {
			t.Errorf("second push: layer %s statuses %v", l, st)
		}
	}

	dst := openStore(t)
	pulled, err := dst.Pull(t.Context(), ref, pullOpts(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ID != id {
		t.Errorf("pulled ID %s, pushed %s", pulled.ID, id)
	}
	if !slices.Equal(pulled.RepoDigests, []string{wantDigest}) {
		t.Errorf("pulled RepoDigests %v, want [%s]", pulled.RepoDigests, wantDigest)
	}
	b, err := os.ReadFile(filepath.Join(pulled.LayerDirs[1], "app/main"))
	if err != nil || string(b) != "hello" {
		t.Errorf("app/main = %q, %v", b, err)
	}

	// Errors name what is wrong.
	if _, err := src.Push(t.Context(), reg.Ref("nope:1"), opts); !errdefs.IsNotFound(err) {
		t.Errorf("push of a missing image: %v, want not found", err)
	}
	if _, err := src.Push(t.Context(), wantDigest, opts); !errdefs.IsInvalidArgument(err) {
		t.Errorf("push of a digest reference: %v, want invalid argument", err)
	}
}

func TestPullCorruptBlob(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := registrytest.Derive(busyboxImage(t), map[string]string{"data": strings.Repeat("x", 1<<16)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "app:1", img)
	layers, _ := img.Layers()
	top, _ := layers[1].Digest()
	tests := []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{name: "flipped byte", tamper: func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }},
		{name: "flipped last byte", tamper: func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }},
		{name: "truncated", tamper: func(b []byte) []byte { return b[:len(b)-10] }},
		{name: "appended", tamper: func(b []byte) []byte { return append(b, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxy := registrytest.NewProxy(t, reg)
			proxy.Tamper(func(d string, b []byte) []byte {
				if d == top.String() {
					return tt.tamper(b)
				}
				return b
			})
			s := openStore(t)
			var rec recorder
			_, err := s.Pull(t.Context(), proxy.Ref("app:1"), pullOpts(&rec))
			if err == nil {
				t.Fatal("pull of a corrupt blob succeeded")
			}
			t.Logf("%s", err)
			if !strings.Contains(err.Error(), proxy.Ref("app:1")) {
				t.Errorf("error %q does not name the image", err)
			}
			rec.checkDone(t, proxy.Ref("app:1"), "Error")
			imgs, err := s.List()
			if err != nil || len(imgs) != 0 {
				t.Fatalf("List after a failed pull: %v, %v", imgs, err)
			}
			// The sound base layer may be kept (it is verified); nothing of
			// the corrupt one, and no temporaries.
			for _, e := range storeEntries(t, s) {
				if strings.Contains(e, tmpMarker) || strings.Contains(e, top.Hex) {
					t.Errorf("left behind %s", e)
				}
			}
			diffIDs, _ := img.ConfigFile()
			if s.hasLayer(diffIDs.RootFS.DiffIDs[1]) {
				t.Error("corrupt layer was stored")
			}
		})
	}
}

func TestPullCancelledThenRetried(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := registrytest.Derive(busyboxImage(t), map[string]string{"data": strings.Repeat("y", 1<<20)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "app:1", img)
	proxy := registrytest.NewProxy(t, reg)
	layers, _ := img.Layers()
	top, _ := layers[1].Digest()
	proxy.Stall(func(d string) bool { return d == top.String() })

	s := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Pull(ctx, proxy.Ref("app:1"), pullOpts(&recorder{}))
		errc <- err
	}()
	select {
	case <-proxy.Stalled:
	case err := <-errc:
		t.Fatalf("pull ended before the stall: %v", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pull: %v, want context.Canceled", err)
	}
	for _, e := range storeEntries(t, s) {
		if strings.Contains(e, tmpMarker) {
			t.Errorf("cancelled pull left %s", e)
		}
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Fatalf("cancelled pull recorded %d images", len(imgs))
	}

	proxy.Stall(nil)
	got, err := s.Pull(t.Context(), proxy.Ref("app:1"), pullOpts(&recorder{}))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got.ID != configName(t, img) {
		t.Errorf("retry pulled %s, want %s", got.ID, configName(t, img))
	}
}

func TestPullErrors(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.Options{})
	reg.Push(t, "bb:1", busyboxImage(t))
	tests := []struct {
		name  string
		ref   string
		class error
		msg   string
	}{
		{name: "unknown tag", ref: reg.Ref("bb:nope"), class: errdefs.ErrNotFound, msg: "manifest for " + reg.Ref("bb:nope") + " not found"},
		{name: "unknown repository", ref: reg.Ref("nope:1"), class: errdefs.ErrNotFound, msg: reg.Ref("nope")},
		{name: "unknown digest", ref: reg.Ref("bb@sha256:" + sixtyFour), class: errdefs.ErrNotFound, msg: reg.Ref("bb@sha256:" + sixtyFour)},
		{name: "bad reference", ref: "UPPER/Case", class: errdefs.ErrInvalidArgument, msg: "UPPER/Case"},
		{name: "connection refused", ref: closedAddr(t) + "/app:1", class: errdefs.ErrFailedPrecondition, msg: "cannot reach registry 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			_, err := s.Pull(t.Context(), tt.ref, pullOpts(&recorder{}))
			if !errors.Is(err, tt.class) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v; want %v containing %q", err, tt.class, tt.msg)
			}
			t.Logf("%s", err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}
