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
	if r := c.must("--progress", "plain", "up", "-d"); !strings.Contains(r.stderr, " Pulled ") {
		t.Fatalf("daily: a missing image is pulled:\n%s", r.stderr)
	}
	if r := c.must("--progress", "plain", "up", "-d"); strings.Contains(r.stderr, "Pull") {
		t.Errorf("daily: an image pulled just now is pulled again:\n%s", r.stderr)
	}
	write("every_1s")
	testutil.Eventually(t, 20*time.Second, "every_1s to pull the image again", func() bool {
		return strings.Contains(c.must("--progress", "plain", "up", "-d").stderr, " Pulled ")
	})
}

// TestBuildKeys: build.ulimits set the RUN steps' limits (BuildKit's
// --ulimit), build.no_cache_filter rebuilds the named stages while the
// others come from the cache (BuildKit's --no-cache-filter), and
// build.cache_from, which needs BuildKit's cache import, is named in a
// warning rather than dropped in silence.
func TestBuildKeys(t *testing.T) {
	c := newProject(t, `
services:
  app:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox AS base
        RUN echo base > /base
        FROM base AS final
        RUN echo "nofile $(ulimit -Sn) $(ulimit -Hn)" > /limits
      ulimits:
        nofile: {soft: 1111, hard: 2222}
      no_cache_filter: [final]
      cache_from: ["type=registry,ref=example/app:cache"]
    command: ["cat", "/limits"]
`)
	first := c.must("build")
	if !strings.Contains(first.stderr, `service "app": build.cache_from is ignored`) {
		t.Errorf("no warning about cache_from:\n%s", first.stderr)
	}
	second := c.must("build")
	var cached, ran []string
	lines := strings.Split(second.stdout, "\n") // the build's own output is on stdout, as Docker's
	for i, l := range lines {
		if !strings.Contains(l, " RUN ") || i+1 >= len(lines) {
			continue
		}
		if strings.HasSuffix(lines[i+1], " CACHED") {
			cached = append(cached, l)
		} else {
			ran = append(ran, l)
		}
	}
	if len(cached) != 1 || !strings.Contains(cached[0], "echo base") || len(ran) != 1 || !strings.Contains(ran[0], "ulimit") {
		t.Errorf("want the base stage's RUN cached and the final stage's rebuilt:\n%s", second)
	}
	if r := c.must("run", "--rm", "app"); strings.TrimSpace(r.stdout) != "nofile 1111 2222" {
		t.Errorf("RUN limits: %s", r)
	}
}
