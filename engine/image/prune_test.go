package image

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// pruneFixture is a store with busybox (tagged), app (tagged, on busybox),
// and two untagged images on busybox: old and used.
type pruneFixture struct {
	s                      *Store
	bb, app, old, used     string
	appLayer, oldLayer     string // unpacked top layers
	baseLayer, usedLayer   string
	appImg, oldImg, usedIm v1.Image
}

func newPruneFixture(t *testing.T) *pruneFixture {
	t.Helper()
	f := &pruneFixture{s: openStore(t)}
	bb := mustBusybox(t)
	f.appImg = withLayer(t, bb, reg("app", "app"))
	f.oldImg = withLayer(t, bb, reg("old", strings.Repeat("old", 1000)))
	f.usedIm = withLayer(t, bb, reg("used", "used"))
	f.bb = mustAdd(t, f.s, bb, "busybox")
	f.app = mustAdd(t, f.s, f.appImg, "app:1")
	f.old = mustAdd(t, f.s, f.oldImg)
	f.used = mustAdd(t, f.s, f.usedIm)
	top := func(id string) string { img := mustGet(t, f.s, id); return img.LayerDirs[len(img.LayerDirs)-1] }
	f.baseLayer = mustGet(t, f.s, f.bb).LayerDirs[0]
	f.appLayer, f.oldLayer, f.usedLayer = top(f.app), top(f.old), top(f.used)
	return f
}

func (f *pruneFixture) inUse(id string) bool { return id == f.used }

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestPruneDangling(t *testing.T) {
	t.Parallel()
	f := newPruneFixture(t)
	deleted, reclaimed, err := f.s.Prune(t.Context(), false, f.inUse)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{f.old}) {
		t.Fatalf("deleted %v, want only the unused dangling image %s", deleted, f.old)
	}
	// The old image's top layer (3000 bytes twice: blob and unpacked) and its config.
	if reclaimed < 6000 {
		t.Errorf("reclaimed %d bytes, want at least 6000", reclaimed)
	}
	if exists(f.oldLayer) {
		t.Errorf("layer of the pruned image kept")
	}
	if h, _ := v1.NewHash(f.old); exists(f.s.blobPath(h)) {
		t.Errorf("config blob of the pruned image kept")
	}
	for _, p := range []string{f.baseLayer, f.appLayer, f.usedLayer} {
		if !exists(p) {
			t.Errorf("layer %s of a kept image removed", p)
		}
	}
	for _, id := range []string{f.bb, f.app, f.used} {
		if _, err := f.s.Get(id); err != nil {
			t.Errorf("kept image: %v", err)
		}
	}
	// Nothing left to prune.
	if deleted, reclaimed, err := f.s.Prune(t.Context(), false, f.inUse); err != nil || len(deleted) != 0 || reclaimed != 0 {
		t.Errorf("second prune = %v, %d, %v", deleted, reclaimed, err)
	}
}

func TestPruneAll(t *testing.T) {
	t.Parallel()
	f := newPruneFixture(t)
	appInUse := func(id string) bool { return id == f.app || id == f.used }
	deleted, reclaimed, err := f.s.Prune(t.Context(), true, appInUse)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{f.bb, f.old}
	slices.Sort(want)
	if !slices.Equal(deleted, want) || reclaimed <= 0 {
		t.Fatalf("deleted %v (%d bytes), want %v", deleted, reclaimed, want)
	}
	// busybox is gone, but its layer stays for app.
	if _, err := f.s.Get("busybox"); !errdefs.IsNotFound(err) {
		t.Errorf("busybox still there: %v", err)
	}
	if !exists(f.baseLayer) || !exists(f.appLayer) {
		t.Errorf("layers of the image in use removed")
	}

	// With nothing in use, everything goes, down to the last blob.
	deleted, _, err = f.s.Prune(t.Context(), true, nil)
	if err != nil || len(deleted) != 2 {
		t.Fatalf("prune all = %v, %v", deleted, err)
	}
	for _, d := range []string{f.s.blobDir(), f.s.layersDir()} {
		if left, _ := os.ReadDir(d); len(left) != 0 {
			t.Errorf("%s holds %v", d, left)
		}
	}
	if list, _ := f.s.List(); len(list) != 0 {
		t.Errorf("List = %v", list)
	}
}

// TestPruneOrphans: unreferenced files left by a crash are reclaimed once
// old enough; young ones may belong to an Add in progress and stay.
func TestPruneOrphans(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustAdd(t, s, mustBusybox(t), "busybox")
	orphans := []string{filepath.Join(s.layersDir(), strings.Repeat("a", 64), "file"), filepath.Join(s.blobDir(), strings.Repeat("b", 64))}
	for _, p := range orphans {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("orphan"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deleted, reclaimed, err := s.Prune(t.Context(), false, nil)
	if err != nil || len(deleted) != 0 || reclaimed != 0 {
		t.Errorf("prune = %v, %d, %v", deleted, reclaimed, err)
	}
	for _, p := range orphans {
		if !exists(p) {
			t.Errorf("young orphan %s removed", p)
		}
	}
	// ctime cannot be set back: collect as if the grace period had passed.
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	freed, err := s.collect(idx, nil, nil, -time.Second)
	if err != nil || freed != 2*int64(len("orphan")) {
		t.Errorf("collect freed %d, %v", freed, err)
	}
	for _, p := range orphans {
		if exists(p) {
			t.Errorf("old orphan %s kept", p)
		}
	}
	if _, err := s.Get("busybox"); err != nil {
		t.Errorf("collect broke a stored image: %v", err)
	}
}

// TestPruneConcurrentAdd prunes everything while images sharing layers are
// added: every Add either succeeds with an intact image or fails with a
// conflict to retry, and the store never records an image without layers.
func TestPruneConcurrentAdd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "images")
	bb := mustBusybox(t)
	imgs := []v1.Image{bb, withLayer(t, bb, reg("a", "a")), withLayer(t, bb, reg("b", "b"))}
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for i, img := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir)
			if err != nil {
				errc <- err
				return
			}
			for range 5 {
				if _, err := s.Add(t.Context(), img, []string{"x", "y", "z"}[i]); err != nil && !errors.Is(err, errdefs.ErrConflict) {
					errc <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s, err := Open(dir)
		if err != nil {
			errc <- err
			return
		}
		for range 10 {
			if _, _, err := s.Prune(t.Context(), true, nil); err != nil {
				errc <- err
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range list {
		for _, l := range img.LayerDirs {
			if !exists(l) || !exists(filepath.Join(s.blobDir(), filepath.Base(l))) {
				t.Errorf("image %s %v lost layer %s", img.ID, img.RepoTags, l)
			}
		}
	}
}

func TestRemoveWithOptions(t *testing.T) {
	t.Parallel()
	const ctr = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name     string
		ref      string
		force    bool
		used     bool
		untagged []string
		deleted  bool
		msg      string // the conflict, if any
		left     []string
	}{
		{name: "tag of an image in use, another tag left", ref: "app:2", used: true,
			untagged: []string{"docker.io/library/app:2"}, left: []string{"app:1", "other/app:1"}},
		{name: "last tag of an image in use", ref: "app:1", used: true, msg: `conflict: unable to remove repository reference "app:1" (must force) - container 0123456789ab is using its referenced image %s`},
		{name: "forced last tag of an image in use is untagged, image kept", ref: "app:1", used: true, force: true,
			untagged: []string{"docker.io/library/app:1"}},
		{name: "ID of an image in use", ref: "ID", used: true, msg: "conflict: unable to delete %s (must be forced) - image is being used by container 0123456789ab"},
		{name: "forced ID of an image in use", ref: "ID", used: true, force: true, msg: "conflict: unable to delete %s (cannot be forced) - image is being used by container 0123456789ab"},
		{name: "ID of an image in several repositories", ref: "ID", msg: "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories"},
		{name: "forced ID of an image in several repositories", ref: "ID", force: true, deleted: true,
			untagged: []string{"docker.io/library/app:1", "docker.io/library/app:2", "docker.io/other/app:1"}},
		{name: "last tag, not in use", ref: "app:1", deleted: true, untagged: []string{"docker.io/library/app:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			id := mustAdd(t, s, withLayer(t, mustBusybox(t), reg("app", "app")), "app:1")
			short := strings.TrimPrefix(id, "sha256:")[:12]
			if len(tt.left) > 0 || strings.Contains(tt.name, "several") {
				for _, r := range []string{"app:2", "other/app:1"} {
					if err := s.Tag(t.Context(), "app:1", r); err != nil {
						t.Fatal(err)
					}
				}
			}
			ref := tt.ref
			if ref == "ID" {
				ref = short
			}
			opts := RemoveOptions{Force: tt.force, UsedBy: func(imageID string) string {
				if tt.used && imageID == id {
					return ctr
				}
				return ""
			}}
			untagged, deleted, err := s.RemoveWithOptions(t.Context(), ref, opts)
			if tt.msg != "" {
				want := strings.ReplaceAll(tt.msg, "%s", short)
				if !errors.Is(err, errdefs.ErrConflict) || err.Error() != want {
					t.Fatalf("error %q, want %q", err, want)
				}
				if img, err := s.Get(id); err != nil || len(img.RepoTags) == 0 {
					t.Errorf("refused removal changed the image: %v, %v", img, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(untagged)
			if !slices.Equal(untagged, tt.untagged) {
				t.Errorf("untagged %v, want %v", untagged, tt.untagged)
			}
			if tt.deleted != (len(deleted) == 1) {
				t.Errorf("deleted %v, want deleted=%v", deleted, tt.deleted)
			}
			img, err := s.Get(id)
			if tt.deleted {
				if !errdefs.IsNotFound(err) {
					t.Errorf("image still there: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("image in use removed: %v", err)
			}
			if !slices.Equal(img.RepoTags, tt.left) && !(len(img.RepoTags) == 0 && len(tt.left) == 0) {
				t.Errorf("tags left %v, want %v", img.RepoTags, tt.left)
			}
			for _, l := range img.LayerDirs {
				if !exists(l) {
					t.Errorf("layer %s of a kept image removed", l)
				}
			}
		})
	}
}

// TestRemoveDigestRefs: removing the last tag also drops the digest
// references of its repository (as Docker does for a pulled image), but
// not those of another repository.
func TestRemoveDigestRefs(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	id := mustAdd(t, s, mustBusybox(t), "busybox")
	dig := "docker.io/library/busybox@sha256:" + strings.Repeat("1", 64)
	other := "ghcr.io/x/bb@sha256:" + strings.Repeat("2", 64)
	if err := s.update(t.Context(), func(idx *index) error { idx.Refs[dig] = id; return nil }); err != nil {
		t.Fatal(err)
	}
	untagged, deleted, err := s.RemoveWithOptions(t.Context(), "busybox", RemoveOptions{})
	if err != nil || !slices.Equal(untagged, []string{"docker.io/library/busybox:latest", dig}) || len(deleted) != 1 {
		t.Fatalf("Remove = %v, %v, %v", untagged, deleted, err)
	}

	id = mustAdd(t, s, mustBusybox(t), "busybox")
	if err := s.update(t.Context(), func(idx *index) error { idx.Refs[other] = id; return nil }); err != nil {
		t.Fatal(err)
	}
	untagged, deleted, err = s.RemoveWithOptions(t.Context(), "busybox", RemoveOptions{})
	if err != nil || !slices.Equal(untagged, []string{"docker.io/library/busybox:latest"}) || len(deleted) != 0 {
		t.Fatalf("Remove = %v, %v, %v", untagged, deleted, err)
	}
}

// TestPruneDryRun: a dry-run store names what prune and rm would delete and
// deletes nothing.
func TestPruneDryRun(t *testing.T) {
	t.Parallel()
	f := newPruneFixture(t)
	f.s.DryRun = true
	deleted, _, err := f.s.Prune(t.Context(), false, f.inUse)
	if err != nil || !slices.Equal(deleted, []string{f.old}) {
		t.Fatalf("dry prune = %v, %v; want [%s]", deleted, err, f.old)
	}
	untagged, _, err := f.s.RemoveWithOptions(t.Context(), "busybox", RemoveOptions{})
	if err != nil || len(untagged) == 0 {
		t.Fatalf("dry rm busybox = %v, %v", untagged, err)
	}
	if !exists(f.oldLayer) {
		t.Errorf("dry prune removed a layer")
	}
	for _, id := range []string{f.bb, f.old} {
		if _, err := f.s.Get(id); err != nil {
			t.Errorf("dry run removed %s: %v", id, err)
		}
	}
	if _, err := f.s.Get("busybox"); err != nil {
		t.Errorf("dry rm untagged busybox: %v", err)
	}
}
