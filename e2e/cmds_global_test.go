package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlobalFlags: Docker Compose's root flags and environment
// (cmd/compose/compose.go): --dry-run is persistent (also after the
// command), --parallel and COMPOSE_PARALLEL_LIMIT (which must be an
// integer), --verbose's debug lines, --compatibility's v1 names
// (project_service_1), --all-resources keeps networks no service uses,
// COMPOSE_STATUS_STDOUT sends the status lines to stdout.
func TestGlobalFlags(t *testing.T) {
	c := newProject(t, "services:\n  web:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\nnetworks:\n  spare:\n")
	project := strings.TrimPrefix(c.env[len(c.env)-1], "COMPOSE_PROJECT_NAME=")

	r := c.must("--progress", "plain", "up", "--dry-run", "-d")
	if !strings.Contains(r.stderr, "DRY-RUN MODE") || len(c.ps()) != 0 {
		t.Errorf("up --dry-run: %s", r)
	}
	c.env = append(c.env, "COMPOSE_PARALLEL_LIMIT=many")
	if r := c.run("ps"); r.code != 1 || !strings.Contains(r.stderr, `COMPOSE_PARALLEL_LIMIT must be an integer (found: "many")`) {
		t.Errorf("COMPOSE_PARALLEL_LIMIT=many: %s", r)
	}
	c.env[len(c.env)-1] = "COMPOSE_PARALLEL_LIMIT=1"
	r = c.must("--verbose", "--progress", "plain", "up", "-d")
	if !strings.Contains(r.stderr, "Limiting max concurrency to 1 jobs") {
		t.Errorf("--verbose with COMPOSE_PARALLEL_LIMIT=1: %s", r)
	}
	c.env = c.env[:len(c.env)-1]
	if c.idOf("web") == "" {
		t.Fatalf("up with --parallel 1 started nothing")
	}
	c.must("down", "-t", "0")

	c.env = append(c.env, "COMPOSE_STATUS_STDOUT=1")
	r = c.must("--compatibility", "--all-resources", "--parallel", "2", "--progress", "plain", "up", "-d")
	c.env = c.env[:len(c.env)-1]
	if !strings.Contains(r.stdout, "Container "+project+"_web_1") || r.stderr != "" {
		t.Errorf("--compatibility up with COMPOSE_STATUS_STDOUT: %s", r)
	}
	if !strings.Contains(r.stdout, "Network "+project+"_spare") {
		t.Errorf("--all-resources: the unused network was not created:\n%s", r.stdout)
	}
}

// TestOrphanEnvironment: COMPOSE_REMOVE_ORPHANS makes `up` remove orphans
// (as --remove-orphans), COMPOSE_IGNORE_ORPHANS silences the warning, and
// the two together are Docker's error "cannot combine
// COMPOSE_IGNORE_ORPHANS and --remove-orphans" (cmd/compose/up.go).
func TestOrphanEnvironment(t *testing.T) {
	c := newProject(t, "services:\n  old:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\n  web:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\n")
	c.must("up", "-d")
	os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte("services:\n  web:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\n"), 0o644)
	t.Cleanup(func() { c.run("down", "--remove-orphans", "-t", "0") })

	base := c.env
	c.env = append(base, "COMPOSE_IGNORE_ORPHANS=true")
	if r := c.must("up", "-d"); strings.Contains(r.stderr, "orphan") {
		t.Errorf("COMPOSE_IGNORE_ORPHANS: %s", r)
	}
	if r := c.run("up", "-d", "--remove-orphans"); r.code != 1 || !strings.Contains(r.stderr, "cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans") {
		t.Errorf("COMPOSE_IGNORE_ORPHANS with --remove-orphans: %s", r)
	}
	c.env = append(base, "COMPOSE_REMOVE_ORPHANS=true")
	c.must("up", "-d")
	for _, e := range c.ps() {
		if e.Service == "old" {
			t.Errorf("COMPOSE_REMOVE_ORPHANS: the orphan is still there")
		}
	}
}
