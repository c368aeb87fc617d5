package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// TestRunFlags: `docker compose run`'s flags (cmd/compose/run.go):
// --cap-add/--cap-drop add to the service's capabilities,
// --env-from-file sets what -e does not, -q quiets the progress output,
// -T is --no-tty (and --no-TTY still), --tty with --no-TTY is refused, and
// --service-ports with --publish too.
func TestRunFlags(t *testing.T) {
	c := newProject(t, "services:\n  app:\n    image: busybox\n    command: ['true']\n  dep:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\n")
	env := filepath.Join(t.TempDir(), "run.env")
	os.WriteFile(env, []byte("FROM_FILE=file\nBOTH=file\n"), 0o644)
	r := c.must("run", "--rm", "-T", "--env-from-file", env, "-e", "BOTH=flag", "app", "sh", "-c", "echo $FROM_FILE $BOTH")
	if strings.TrimSpace(r.stdout) != "file flag" {
		t.Errorf("--env-from-file: %q", r.stdout)
	}
	// CAP_NET_ADMIN is bit 12 (0x1000), CAP_CHOWN bit 0: not in Docker's default set / in it.
	r = c.must("run", "--rm", "--no-tty", "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "app", "grep", "CapEff", "/proc/self/status")
	eff, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.stdout), "CapEff:")), 16, 64)
	if err != nil || eff&(1<<12) == 0 || eff&1 != 0 {
		t.Errorf("--cap-add NET_ADMIN --cap-drop CHOWN: %q (%v)", r.stdout, err)
	}
	r = c.must("run", "--rm", "-q", "--no-TTY", "app", "echo", "quiet")
	if strings.TrimSpace(r.stdout) != "quiet" || strings.Contains(r.stderr, "Container") {
		t.Errorf("run -q: %s", r)
	}
	if r := c.run("run", "--tty", "--no-TTY", "app"); r.code == 0 || !strings.Contains(r.stderr, "--tty and --no-TTY can't be used together") {
		t.Errorf("run --tty --no-TTY: %s", r)
	}
	if r := c.run("run", "-P", "-p", "80:80", "app"); r.code == 0 || !strings.Contains(r.stderr, "--service-ports and --publish are incompatible") {
		t.Errorf("run -P -p: %s", r)
	}
}

// TestRunUseAliases: a `run` container answers to the service's name only
// with --use-aliases (Docker Compose gives one-off containers the
// service's aliases only then, pkg/compose/create.go getAliases).
func TestRunUseAliases(t *testing.T) {
	c := newProject(t, `
services:
  peer:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
  app:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
`)
	c.must("up", "-d", "peer")
	c.must("run", "-d", "--name", "plain-run", "app")
	t.Cleanup(func() { c.run("rm", "-fsv") })
	if r := c.run("exec", "-T", "peer", "nslookup", "app"); r.code == 0 {
		t.Fatalf("a run container without --use-aliases answers to the service's name:\n%s", r)
	}
	c.must("run", "-d", "--use-aliases", "--name", "aliased-run", "app")
	testutil.Eventually(t, 10*time.Second, "the service name to resolve", func() bool {
		return c.run("exec", "-T", "peer", "nslookup", "app").code == 0
	})
}

// TestRunRemoveOrphans: `run --remove-orphans` removes the containers of
// services no longer declared while bringing up the dependencies, as
// `up --remove-orphans` does; without it Docker warns ("Found orphan
// containers").
func TestRunRemoveOrphans(t *testing.T) {
	c := newProject(t, "services:\n  old:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\n  app:\n    image: busybox\n    command: ['true']\n")
	c.must("up", "-d", "old")
	os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte("services:\n  app:\n    image: busybox\n    command: ['true']\n"), 0o644)
	t.Cleanup(func() { c.run("down", "--remove-orphans", "-t", "0") })
	if r := c.must("run", "--rm", "app"); !strings.Contains(r.stderr, "Found orphan containers") {
		t.Errorf("run with an orphan: %s", r)
	}
	c.must("run", "--rm", "--remove-orphans", "app")
	if ps := c.ps(); len(ps) != 0 {
		t.Errorf("after run --remove-orphans: %v", ps)
	}
}
