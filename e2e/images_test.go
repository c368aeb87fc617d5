package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/composer-dev/compose/internal/registrytest"
	"github.com/composer-dev/compose/internal/testutil"
)

// TestImageCommands: tag, inspect, save/load, push to a registry and pull
// back elsewhere, rm refusing an image in use, prune.
func TestImageCommands(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{})
	c := newCLI(t)
	c.loadBusybox()

	target := reg.Ref("team/app:2")
	c.must("image", "tag", "busybox", target)
	var infos []struct {
		Id          string
		RepoTags    []string
		RepoDigests []string
		Config      struct{ Cmd []string }
		RootFS      struct{ Type string }
	}
	if err := json.Unmarshal([]byte(c.must("image", "inspect", "busybox").stdout), &infos); err != nil || len(infos) != 1 {
		t.Fatalf("inspect: %v %+v", err, infos)
	}
	info := infos[0]
	if !strings.HasPrefix(info.Id, "sha256:") || len(info.RepoTags) != 2 || info.RootFS.Type != "layers" || strings.Join(info.Config.Cmd, " ") != "sh" {
		t.Errorf("inspect: %+v", info)
	}

	// save -> load into a fresh root keeps the ID and tags.
	archive := filepath.Join(t.TempDir(), "images.tar")
	c.must("image", "save", "-o", archive, "busybox", target)
	other := newCLI(t)
	r := other.must("image", "load", "-i", archive)
	if !strings.Contains(r.stdout, "Loaded image: busybox:latest") || !strings.Contains(r.stdout, "Loaded image: "+target) {
		t.Errorf("load of our save: %s", r)
	}
	if !strings.Contains(other.must("image", "ls", "-q").stdout, strings.TrimPrefix(info.Id, "sha256:")[:12]) {
		t.Error("loaded image has another ID")
	}

	// push, then pull into a third root: same image ID, digest recorded.
	r = c.must("--progress", "plain", "image", "push", target)
	if !strings.Contains(r.stderr, "Pushed") {
		t.Errorf("push output:\n%s", r.stderr)
	}
	third := newCLI(t)
	dir := filepath.Join(t.TempDir(), "third")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  app:\n    image: "+target+"\n"), 0o644)
	third.dir = dir
	third.must("pull")
	if err := json.Unmarshal([]byte(third.must("image", "inspect", target).stdout), &infos); err != nil {
		t.Fatal(err)
	}
	if infos[0].Id != info.Id || len(infos[0].RepoDigests) != 1 || !strings.Contains(infos[0].RepoDigests[0], "@sha256:") {
		t.Errorf("pulled image: %+v, want ID %s and a digest", infos[0], info.Id)
	}

	// rm refuses an image a container uses; prune keeps it.
	proj := t.TempDir()
	os.WriteFile(filepath.Join(proj, "compose.yaml"), []byte("services:\n  s:\n    image: "+target+"\n    command: [sleep, \"30\"]\n"), 0o644)
	c.dir = proj
	t.Cleanup(func() { c.run("down", "-t", "0") })
	c.must("up", "-d")
	c.must("image", "rm", "busybox") // another tag remains: only untagged
	r = c.run("image", "rm", target)
	if r.code != 1 || !strings.Contains(r.stderr, "must force") {
		t.Errorf("rm of an image in use: %s", r)
	}
	c.must("image", "prune", "-a")
	if !strings.Contains(c.must("image", "ls").stdout, "team/app") {
		t.Error("prune -a removed an image in use")
	}
	c.must("down", "-t", "0")
	r = c.must("image", "prune", "-a")
	if !strings.Contains(r.stdout, "deleted: sha256:") || !strings.Contains(r.stdout, "Total reclaimed space:") {
		t.Errorf("prune -a after down: %s", r)
	}
	if ls := c.must("image", "ls", "-q").stdout; strings.TrimSpace(ls) != "" {
		t.Errorf("images left after prune -a: %q", ls)
	}
	layers, _ := os.ReadDir(filepath.Join(c.root, "images", "layers"))
	if len(layers) != 0 {
		t.Errorf("layer dirs left after prune -a: %v", layers)
	}
}
