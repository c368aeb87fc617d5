package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// TestCreate: `docker compose create` creates the containers without
// starting them (pkg/compose/create.go; the same as `up --no-start`), and
// `start` starts them.
func TestCreate(t *testing.T) {
	c := newProject(t, "services:\n  web:\n    image: busybox\n    command: [sleep, '1000']\n    stop_grace_period: 1s\n")
	r := c.must("--progress", "plain", "create")
	if !strings.Contains(r.stderr, "Container") || !strings.Contains(r.stderr, "Created") || strings.Contains(r.stderr, "Started") {
		t.Errorf("create output:\n%s", r)
	}
	if st := c.stateOf("web"); st != "created" {
		t.Errorf("after create: state %q, want created", st)
	}
	// Docker: --build and --no-build are refused together.
	if r := c.run("create", "--build", "--no-build"); r.code == 0 || !strings.Contains(r.stderr, "--build and --no-build are incompatible") {
		t.Errorf("create --build --no-build: %s", r)
	}
	c.must("start")
	if st := c.stateOf("web"); st != "running" {
		t.Errorf("after start: state %q", st)
	}
}

// TestStartWait: `start --wait` returns once the containers run and are
// healthy (cmd/compose/start.go: --wait, --wait-timeout, "Wait for
// services to be running|healthy. Implies detached mode."), and fails
// with "application not healthy after" when the timeout passes.
func TestStartWait(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sh, -c, 'sleep 1; touch /tmp/ok; sleep 1000']
    stop_grace_period: 1s
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
      start_period: 10s
  never:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
    profiles: [bad]
    healthcheck:
      test: [CMD, "false"]
      interval: 200ms
      retries: 1000
`)
	c.must("create", "web")
	c.must("start", "--wait", "web")
	if r := c.must("ps", "--format", "{{.Status}}", "web"); !strings.Contains(r.stdout, "(healthy)") {
		t.Errorf("after start --wait: %s", r.stdout)
	}
	c.must("--profile", "bad", "create", "never")
	r := c.run("--profile", "bad", "start", "--wait", "--wait-timeout", "1", "never")
	if r.code == 0 || !strings.Contains(r.stderr, "application not healthy after 1s") {
		t.Errorf("start --wait on a never healthy service: %s", r)
	}
}

// TestDownServices: `docker compose down SERVICE` removes only that
// service's containers and those of the services depending on it
// (pkg/compose/down.go: WithRootNodesAndDown); the network another
// container still uses stays ("Resource is still in use").
func TestDownServices(t *testing.T) {
	c := newProject(t, `
services:
  db:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
  web:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
    depends_on: [db]
  other:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
`)
	c.must("up", "-d")
	r := c.must("--progress", "plain", "down", "db")
	left := map[string]bool{}
	for _, e := range c.ps() {
		left[e.Service] = true
	}
	if left["db"] || left["web"] || !left["other"] {
		t.Errorf("after down db: services left %v\n%s", left, r)
	}
	if !strings.Contains(r.stderr, "Resource is still in use") {
		t.Errorf("down db: the network in use should stay:\n%s", r.stderr)
	}
	if r := c.run("down", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "no such service: nosuch") {
		t.Errorf("down nosuch: %s", r)
	}
}

// TestVolumesCommand: `docker compose volumes` lists the project's volumes
// with the docker CLI's volume formatter (cmd/compose/volumes.go): DRIVER
// and VOLUME NAME, -q for the names; with services, those their running
// containers mount.
func TestVolumesCommand(t *testing.T) {
	c := newProject(t, `
services:
  a:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
    volumes: [data:/data]
  b:
    image: busybox
    command: [sleep, '1000']
    stop_grace_period: 1s
    volumes: [cache:/cache, /anon]
volumes:
  data:
  cache:
`)
	c.must("up", "-d")
	project := strings.TrimPrefix(c.env[len(c.env)-1], "COMPOSE_PROJECT_NAME=")
	r := c.must("volumes")
	want := "DRIVER    VOLUME NAME\nlocal     " + project + "_cache\nlocal     " + project + "_data\n"
	if r.stdout != want {
		t.Errorf("volumes:\n%q\nwant\n%q", r.stdout, want)
	}
	if r := c.must("volumes", "-q", "a"); r.stdout != project+"_data\n" {
		t.Errorf("volumes -q a: %q", r.stdout)
	}
	if r := c.must("volumes", "--format", "{{.Name}} {{.Scope}}", "b"); r.stdout != project+"_cache local\n" {
		t.Errorf("volumes --format: %q", r.stdout)
	}
}

// TestLogsSinceUntilIndex: `docker compose logs --since/--until` bound the
// lines by time (a date or a duration before now), --index picks one
// replica, and Docker's checks: "--index requires one service to be
// selected", `invalid value for "since": ...`.
func TestLogsSinceUntilIndex(t *testing.T) {
	c := newProject(t, "services:\n  app:\n    image: busybox\n    command: [sh, -c, 'echo line-$$HOSTNAME; sleep 1000']\n    stop_grace_period: 1s\n    scale: 2\n")
	c.must("up", "-d")
	testutil.Eventually(t, 20*time.Second, "both replicas to log", func() bool {
		return strings.Count(c.run("logs").stdout, "line-") == 2
	})
	r := c.must("logs", "--index", "2", "app")
	if strings.Count(r.stdout, "line-") != 1 || !strings.Contains(r.stdout, "app-2") {
		t.Errorf("logs --index 2 app:\n%s", r.stdout)
	}
	if r := c.must("logs", "--since", "1h"); strings.Count(r.stdout, "line-") != 2 {
		t.Errorf("logs --since 1h:\n%s", r.stdout)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := c.must("logs", "--since", future); strings.Contains(r.stdout, "line-") {
		t.Errorf("logs --since %s:\n%s", future, r.stdout)
	}
	if r := c.must("logs", "--until", "2001-01-01"); strings.Contains(r.stdout, "line-") {
		t.Errorf("logs --until 2001-01-01:\n%s", r.stdout)
	}
	if r := c.run("logs", "--since", "yesterday"); r.code != 1 || !strings.Contains(r.stderr, `invalid value for "since": failed to parse value as time or duration: "yesterday"`) {
		t.Errorf("logs --since yesterday: %s", r)
	}
	if r := c.run("logs", "--index", "1"); r.code != 1 || !strings.Contains(r.stderr, "--index requires one service to be selected") {
		t.Errorf("logs --index without a service: %s", r)
	}
}

// TestConfigFlags: `docker compose config --variables` lists the
// variables with their defaults (NAME, REQUIRED, DEFAULT VALUE, ALTERNATE
// VALUE), --models the model names, --no-env-resolution keeps env_file
// as written (cmd/compose/config.go).
func TestConfigFlags(t *testing.T) {
	c := newCLI(t)
	c.dir = t.TempDir()
	yaml := "services:\n  web:\n    image: ${IMG:-busybox}\n    command: echo ${MSG:?need it} ${ALT:+set}\n    env_file: [a.env]\n    models: [llm]\nmodels:\n  llm:\n    model: ai/smollm2\n"
	os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644)
	os.WriteFile(filepath.Join(c.dir, "a.env"), []byte("X=1\n"), 0o644)
	c.env = append(c.env, "MSG=hi")
	r := c.must("config", "--variables")
	want := "NAME                REQUIRED            DEFAULT VALUE       ALTERNATE VALUE\n" +
		"ALT                 false                                   set\n" +
		"IMG                 false               busybox             \n" +
		"MSG                 true                                    \n"
	if r.stdout != want {
		t.Errorf("config --variables:\n%q\nwant\n%q", r.stdout, want)
	}
	if r := c.must("config", "--models"); r.stdout != "ai/smollm2\n" {
		t.Errorf("config --models: %q", r.stdout)
	}
	if r := c.must("config", "--no-env-resolution"); !strings.Contains(r.stdout, "env_file:") || strings.Contains(r.stdout, "X: \"1\"") {
		t.Errorf("config --no-env-resolution:\n%s", r.stdout)
	}
	if r := c.must("config"); strings.Contains(r.stdout, "env_file:") || !strings.Contains(r.stdout, "X: \"1\"") {
		t.Errorf("config:\n%s", r.stdout)
	}
}
