package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/registrytest"
	"github.com/composer-dev/compose/internal/testutil"
)

// TestPullPolicyRefresh: pull_policy daily pulls a missing image and then
// leaves it alone until it is a day old; every_<duration> pulls again once
// the image is older than that. Docker Compose decides so from the image's
// LastTagTime (pkg/compose/pull.go mustPull:
// `time.Now().After(img.LastTagTime.Add(duration))`).
func TestPullPolicyRefresh(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "tools/busybox:1.0", img)
	c := newCLI(t)
	c.dir = t.TempDir()
	write := func(policy string) {
		compose := "services:\n  app:\n    image: " + reg.Ref("tools/busybox:1.0") + "\n    pull_policy: " + policy + "\n    command: [sleep, '1000']\n"
		if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.run("down", "-t", "0") })
	write("daily")
	if r := c.must("--progress", "plain", "up", "-d"); !strings.Contains(r.stderr, "app  Pulled") {
		t.Fatalf("daily: a missing image is pulled:\n%s", r.stderr)
	}
	if r := c.must("--progress", "plain", "up", "-d"); strings.Contains(r.stderr, "Pull") {
		t.Errorf("daily: an image pulled just now is pulled again:\n%s", r.stderr)
	}
	write("every_1s")
	testutil.Eventually(t, 20*time.Second, "every_1s to pull the image again", func() bool {
		return strings.Contains(c.must("--progress", "plain", "up", "-d").stderr, "app  Pulled")
	})
}
