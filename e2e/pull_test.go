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

// TestPullFromRegistry: `up` pulls a missing image from a registry that needs
// credentials (from DOCKER_CONFIG), runs it, and `compose pull`/`images`
// behave as in Docker Compose.
func TestPullFromRegistry(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{Auth: true})
	img, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("tools/busybox:1.0")
	reg.Push(t, "tools/busybox:1.0", img)

	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "pulled")
	os.MkdirAll(dir, 0o755)
	compose := "services:\n  app:\n    image: " + ref + "\n    command: [sh, -c, 'echo pulled and running; sleep 30']\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { c.run("down", "-t", "0") })

	// Without credentials the pull is refused with a clear message.
	r := c.run("--progress", "quiet", "up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, "pull access denied") {
		t.Fatalf("pull without credentials: %s", r)
	}
	c.env = append(c.env, "DOCKER_CONFIG="+reg.DockerConfig(t))
	r = c.must("--progress", "plain", "up", "-d")
	// Docker Compose v5 (pkg/compose/pull.go, plain mode): " Image <ref> Pulling ",
	// " Image <ref> Pulled ", then " Container pulled-app-1 Started ".
	image := " Image " + reg.Addr + "/tools/busybox:1.0 "
	for _, want := range []string{image + "Pulling \n", image + "Pulled \n", " Container pulled-app-1 Started \n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("up output lacks %q:\n%s", want, r.stderr)
		}
	}
	testutil.Eventually(t, 20*time.Second, "the pulled image to run", func() bool {
		return strings.Contains(c.run("logs", "app").stdout, "pulled and running")
	})
	images := c.must("images").stdout
	if !strings.Contains(images, "pulled-app-1") || !strings.Contains(images, reg.Addr+"/tools/busybox") || !strings.Contains(images, "1.0") {
		t.Errorf("images:\n%s", images)
	}
	// A second pull finds every layer present.
	r = c.must("--progress", "plain", "pull")
	if !strings.Contains(r.stderr, image+"Pulled \n") {
		t.Errorf("pull output:\n%s", r.stderr)
	}
	if r := c.must("pull", "-q"); r.stderr != "" {
		t.Errorf("pull -q printed %q", r.stderr)
	}
}
