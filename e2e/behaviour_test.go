package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Behaviours that must be Docker Compose v5.5.0's, each test quoting the
// reference source it follows.

// startedAt is when the service's (first, non one-off) container last started.
func (c *cli) startedAt(service string) time.Time {
	c.t.Helper()
	return c.containerStart(c.idOf(service))
}

// TestRestartDependents: `restart db` restarts db and the services that
// depend on it with `restart: true`, after db is healthy again, and
// neither db's own dependencies nor dependents without `restart: true`.
//
// Docker Compose, pkg/compose/restart.go: "ignore depends_on relations
// which are not impacted by restarting service or not required" (it drops
// depends_on entries without restart: true), then
// project.WithSelectedServices(options.Services, types.IncludeDependents),
// and InDependencyOrder calls waitDependencies before restarting each
// service. With --no-deps: WithSelectedServices(options.Services,
// types.IgnoreDependencies) first, so only the named services restart.
func TestRestartDependents(t *testing.T) {
	c := newProject(t, `
services:
  base:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
  db:
    image: busybox
    command: ["sh", "-c", "rm -f /tmp/healthy; sleep 1; touch /tmp/healthy; exec sleep 600"]
    stop_signal: SIGKILL
    depends_on: [base]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/healthy"]
      interval: 100ms
      retries: 100
  app:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on:
      db:
        condition: service_healthy
        restart: true
  worker:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on: [db]
`)
	c.must("up", "-d", "--wait")
	before := map[string]time.Time{}
	for _, s := range []string{"base", "db", "app", "worker"} {
		before[s] = c.startedAt(s)
	}
	restarted := func(s string) bool { return c.startedAt(s).After(before[s]) }

	r := c.must("--progress", "plain", "restart", "-t", "0", "db")
	if !restarted("db") || !restarted("app") {
		t.Errorf("restart db: db restarted %v, app (restart: true) restarted %v\n%s", restarted("db"), restarted("app"), r)
	}
	if restarted("base") || restarted("worker") {
		t.Errorf("restart db restarted base (its dependency) %v or worker (no restart: true) %v", restarted("base"), restarted("worker"))
	}
	// app waited for db to be healthy again (a second after its start).
	if gap := c.startedAt("app").Sub(c.startedAt("db")); gap < time.Second {
		t.Errorf("app restarted %s after db: it did not wait for db to be healthy\n%s", gap, r)
	}
	if !strings.Contains(r.stderr, " Container "+c.project()+"-db-1 Healthy ") { // Docker Compose v5: " <id> <status> " (cmd/display/plain.go)
		t.Errorf("no wait for db's health in the output:\n%s", r)
	}

	for _, s := range []string{"base", "db", "app", "worker"} {
		before[s] = c.startedAt(s)
	}
	c.must("restart", "-t", "0", "--no-deps", "db")
	if !restarted("db") || restarted("app") || restarted("base") {
		t.Errorf("restart --no-deps db: db %v, app %v, base %v", restarted("db"), restarted("app"), restarted("base"))
	}
	c.must("up", "-d", "--wait")

	for _, s := range []string{"base", "db", "app", "worker"} {
		before[s] = c.startedAt(s)
	}
	c.must("restart", "-t", "0", "app")
	if !restarted("app") || restarted("db") || restarted("base") {
		t.Errorf("restart app: app %v, db (its dependency) %v, base %v", restarted("app"), restarted("db"), restarted("base"))
	}
}

// TestStartDependencies: `start app` also starts the stopped services app
// depends on, first; `-f one.yaml stop` stops only that file's services.
//
// Docker Compose, cmd/compose/start.go: opts.projectOrName(ctx, dockerCli,
// services...) loads the project with the named services selected (their
// dependencies included), and pkg/compose/start.go starts it
// InDependencyOrder. cmd/compose/stop.go passes the project of the given
// files, and pkg/compose/stop.go stops `project.ServiceNames()` when no
// service is named.
func TestStartDependencies(t *testing.T) {
	c := newProject(t, `
services:
  db:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
  app:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on: [db]
  other:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
`)
	c.must("up", "-d")
	c.must("stop", "-t", "0")
	c.must("start", "app")
	for svc, want := range map[string]string{"db": "running", "app": "running", "other": "exited"} {
		if got := c.stateOf(svc); got != want {
			t.Errorf("after start app: %s is %s, want %s", svc, got, want)
		}
	}
	if !c.startedAt("app").After(c.startedAt("db")) {
		t.Errorf("app started before its dependency db")
	}

	extra := filepath.Join(c.dir, "extra.yaml")
	if err := os.WriteFile(extra, []byte("services:\n  extra:\n    image: busybox\n    command: [sleep, \"600\"]\n    stop_signal: SIGKILL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must("-f", "compose.yaml", "-f", "extra.yaml", "up", "-d")
	c.must("-f", "extra.yaml", "stop", "-t", "0")
	for svc, want := range map[string]string{"extra": "exited", "db": "running", "app": "running", "other": "running"} {
		if got := c.stateOf(svc); got != want {
			t.Errorf("after -f extra.yaml stop: %s is %s, want %s", svc, got, want)
		}
	}
	t.Cleanup(func() { c.run("-f", "compose.yaml", "-f", "extra.yaml", "down", "-t", "0") })
}

// attachYAML: app prints and exits after a moment; db runs until stopped.
const attachYAML = `
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db ready; exec sleep 600"]
    stop_signal: SIGKILL
  app:
    image: busybox
    command: ["sh", "-c", "echo app working; sleep 1; echo app done"]
    depends_on: [db]
`

// TestUpAttachDependenciesReturns: `up --attach-dependencies app` prints
// db's logs too, and returns once app has exited, db still running.
//
// Docker Compose, pkg/compose/up.go: "if len(options.Start.Services) > 0 {
// monitor.withServices(options.Start.Services) } else {
// monitor.withServices(options.Start.AttachTo) }", and monitor.go returns
// once every monitored container has exited; without a cascade nothing is
// stopped.
func TestUpAttachDependenciesReturns(t *testing.T) {
	c := newProject(t, attachYAML)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s := c.start(ctx, "up", "--no-color", "--attach-dependencies", "app")
	if code := s.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s)
	}
	out := strings.Join(s.stdout(), "\n")
	for _, want := range []string{"db-1   | db ready", "app-1  | app done", "app-1 exited with code 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if got := c.stateOf("db"); got != "running" {
		t.Errorf("db is %s after up returned, want running", got)
	}
}

// TestCtrlCLeavesDependencies: Ctrl-C on `up app` stops app and leaves its
// dependency db running, the same container as before.
//
// Docker Compose, pkg/compose/up.go: stopApplication stops
// "Services: u.options.Create.Services" (the services named on the command
// line), and pkg/compose/stop.go skips the others ("if
// !slices.Contains(options.Services, service) { return nil }").
func TestCtrlCLeavesDependencies(t *testing.T) {
	c := newProject(t, strings.Replace(attachYAML, `sleep 1; echo app done`, `exec sleep 600`, 1))
	c.must("up", "-d", "db")
	id, started := c.idOf("db"), c.startedAt("db")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s := c.start(ctx, "up", "--no-color", "app")
	s.waitOut(t, 30*time.Second, "app-1  | app working", 1)
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.exit(t, 30*time.Second); code != 130 {
		t.Errorf("Ctrl-C: exit %d\n%s", code, s)
	}
	if got := c.stateOf("app"); got != "exited" {
		t.Errorf("app is %s after Ctrl-C", got)
	}
	if got := c.stateOf("db"); got != "running" || c.idOf("db") != id || !c.startedAt("db").Equal(started) {
		t.Errorf("db was touched by Ctrl-C on up app: %s", got)
	}
}

// TestSelectedServicesOnly: what a service `up` does not touch cannot fail
// it: a missing env_file, a container_name another service uses too; and
// commands on existing containers read no env_file.
//
// Docker Compose, cmd/compose/compose.go: the project is loaded with
// cli.WithoutEnvironmentResolution, the services selected
// (pkg/compose/loader.go: project.WithSelectedServices(options.Services)),
// and only then project.WithServicesEnvironmentResolved(true);
// pkg/compose/create.go calls project.CheckContainerNameUnicity() on that
// selected project.
func TestSelectedServicesOnly(t *testing.T) {
	c := newProject(t, `
services:
  other:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
  broken:
    image: busybox
    env_file: ./missing.env
  one:
    image: busybox
    container_name: same-name-${COMPOSE_PROJECT_NAME}
  two:
    image: busybox
    container_name: same-name-${COMPOSE_PROJECT_NAME}
`)
	c.must("up", "-d", "other")
	if got := c.stateOf("other"); got != "running" {
		t.Errorf("other is %s", got)
	}
	r := c.run("up", "-d", "broken")
	if r.code == 0 || !strings.Contains(r.stderr, "missing.env") {
		t.Errorf("up broken with its env_file missing: %s", r)
	}
	// The commands on existing containers read no env_file (Docker
	// Compose's projectOrName loads with cli.WithoutEnvironmentResolution).
	c.must("ps")
	c.must("restart", "-t", "0", "other")
	c.must("stop", "-t", "0")
	r = c.run("up", "-d", "one", "two")
	if r.code == 0 || !strings.Contains(r.stderr, "is already in use by service") {
		t.Errorf("up one two with one container_name: %s", r)
	}
}

// TestIncludeEnvSecret: a secret `environment: VAR` declared by an
// included file takes VAR from that include's env file.
//
// compose-go resolves it in the include's environment when loading
// (loader/environment.go, resolveSecretsEnvironment, into the secret's
// content), and Docker Compose, pkg/compose/secrets.go, resolveFileContent:
// "if source.Content != "" { // inlined, or already resolved by include".
func TestIncludeEnvSecret(t *testing.T) {
	c := newProject(t, `
include:
  - path: sub/compose.yaml
    env_file: sub/sub.env
services:
  reader:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    secrets: [token]
`)
	sub := filepath.Join(c.dir, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"compose.yaml": "secrets:\n  token:\n    environment: SUB_TOKEN\n",
		"sub.env":      "SUB_TOKEN=from-the-include\n",
	} {
		if err := os.WriteFile(filepath.Join(sub, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.must("up", "-d")
	if got := strings.TrimSpace(c.must("exec", "reader", "cat", "/run/secrets/token").stdout); got != "from-the-include" {
		t.Errorf("secret = %q, want the include's SUB_TOKEN", got)
	}
}

// TestRemoveOrphansOneOff: `up --remove-orphans` removes the containers of
// services gone from the file and the exited one-off (`run`) containers;
// without the flag they are named in the orphan warning.
//
// Docker Compose, pkg/compose/containers.go, isOrphaned: "// One-off
// container ... return c.State == ContainerExited || c.State ==
// ContainerDead", else "return !slices.Contains(services, service)";
// pkg/compose/create.go removes them with --remove-orphans, else warns
// "Found orphan containers (%s) for this project."
func TestRemoveOrphansOneOff(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
  keep:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
`)
	c.must("up", "-d")
	c.must("run", "--name", c.project()+"-done", "keep", "true")
	c.must("run", "-d", "--name", c.project()+"-busy", "keep", "sleep", "600")
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(`
services:
  keep:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.must("up", "-d")
	for _, name := range []string{c.project() + "-web-1", c.project() + "-done"} {
		if !strings.Contains(r.stderr, name) {
			t.Errorf("orphan warning lacks %s:\n%s", name, r)
		}
	}
	if strings.Contains(r.stderr, c.project()+"-busy") {
		t.Errorf("a running one-off container is called an orphan:\n%s", r)
	}
	c.must("up", "-d", "--remove-orphans")
	names := c.byName()
	if _, ok := names[c.project()+"-web-1"]; ok {
		t.Errorf("web-1 (service gone) was not removed")
	}
	if _, ok := names[c.project()+"-done"]; ok {
		t.Errorf("the exited one-off container was not removed")
	}
	if e, ok := names[c.project()+"-busy"]; !ok || e.State != "running" {
		t.Errorf("the running one-off container was removed or stopped: %+v", e)
	}
}
