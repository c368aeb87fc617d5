package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// containerStart reads when the container's current run started, from the
// state its supervisor records.
func (c *cli) containerStart(id string) time.Time {
	c.t.Helper()
	var st struct{ StartedAt time.Time }
	b, err := os.ReadFile(filepath.Join(c.root, "containers", id, "state.json"))
	if err != nil {
		c.t.Fatalf("state of %s: %v", id, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		c.t.Fatalf("state of %s: %v", id, err)
	}
	return st.StartedAt
}

// byName maps container name to ps entry.
func (c *cli) byName() map[string]psEntry {
	c.t.Helper()
	out := map[string]psEntry{}
	for _, e := range c.ps() {
		out[e.Name] = e
	}
	return out
}

const convergeYAML = `
services:
  a:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    environment:
      VERSION: "1"
  b:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
  c:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on:
      a:
        condition: service_started
        restart: true
`

// TestConvergeRecreatesOnlyWhatChanged: a changed environment recreates
// that service alone (its restart: true dependent restarts), a second up
// changes nothing, --force-recreate and --no-recreate do what they say, and
// orphans are warned about, then removed with --remove-orphans.
func TestConvergeRecreatesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	c := newProject(t, convergeYAML)
	c.must("up", "-d")
	before := c.byName()
	if len(before) != 3 {
		t.Fatalf("want 3 containers, got %+v", before)
	}
	project := strings.TrimSuffix(firstKey(before), "-a-1")
	name := func(svc string) string { return project + "-" + svc + "-1" }
	bStart := c.containerStart(before[name("b")].ID)
	cStart := c.containerStart(before[name("c")].ID)

	c.writeCompose(strings.Replace(convergeYAML, `VERSION: "1"`, `VERSION: "2"`, 1))
	c.must("up", "-d")
	after := c.byName()
	if after[name("a")].ID == before[name("a")].ID {
		t.Errorf("a was not recreated after its environment changed")
	}
	if after[name("b")].ID != before[name("b")].ID || !c.containerStart(after[name("b")].ID).Equal(bStart) {
		t.Errorf("b was touched though unchanged")
	}
	if after[name("c")].ID != before[name("c")].ID {
		t.Errorf("c (restart: true on a) was recreated; Docker restarts it in place")
	}
	if !c.containerStart(after[name("c")].ID).After(cStart) {
		t.Errorf("c (restart: true on a) was not restarted when a was recreated")
	}
	for _, e := range after {
		if e.State != "running" {
			t.Errorf("%s is %s after up", e.Name, e.State)
		}
	}
	// The new a has the environment of the new file.
	if out := c.must("exec", "-T", "a", "sh", "-c", "echo $VERSION").stdout; strings.TrimSpace(out) != "2" {
		t.Errorf("recreated a sees VERSION=%q", out)
	}

	// Nothing changed: nothing recreated or restarted.
	starts := map[string]time.Time{}
	for n, e := range after {
		starts[n] = c.containerStart(e.ID)
	}
	r := c.must("--progress", "plain", "up", "-d")
	for n, e := range c.byName() {
		if e.ID != after[n].ID || !c.containerStart(e.ID).Equal(starts[n]) {
			t.Errorf("second up touched %s", n)
		}
	}
	if strings.Contains(r.stderr, "Recreate") || strings.Contains(r.stderr, "Created") {
		t.Errorf("second up reports work:\n%s", r.stderr)
	}

	// --force-recreate replaces everything.
	c.must("up", "-d", "--force-recreate")
	forced := c.byName()
	for n, e := range forced {
		if e.ID == after[n].ID {
			t.Errorf("--force-recreate kept %s", n)
		}
	}
	// --no-recreate keeps a diverged container.
	c.writeCompose(strings.Replace(convergeYAML, `VERSION: "1"`, `VERSION: "3"`, 1))
	c.must("up", "-d", "--no-recreate")
	if c.byName()[name("a")].ID != forced[name("a")].ID {
		t.Errorf("--no-recreate recreated a")
	}
	if r := c.run("up", "-d", "--no-recreate", "--force-recreate"); r.code != 1 || !strings.Contains(r.stderr, "incompatible") {
		t.Errorf("--no-recreate with --force-recreate: %s", r)
	}

	// b leaves the file: an orphan, warned about, then removed on request.
	withoutB := strings.Replace(convergeYAML, "  b:\n    image: busybox\n    command: [sleep, \"600\"]\n    stop_signal: SIGKILL\n", "", 1)
	c.writeCompose(withoutB)
	r = c.must("up", "-d", "--no-recreate")
	want := "Found orphan containers ([" + name("b") + "]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up."
	if !strings.Contains(r.stderr, want) {
		t.Errorf("no orphan warning:\n%s", r.stderr)
	}
	if _, ok := c.byName()[name("b")]; !ok {
		t.Errorf("orphan removed without --remove-orphans")
	}
	c.must("up", "-d", "--no-recreate", "--remove-orphans")
	if _, ok := c.byName()[name("b")]; ok {
		t.Errorf("--remove-orphans left %s", name("b"))
	}
}

func firstKey(m map[string]psEntry) string {
	for k := range m {
		if strings.HasSuffix(k, "-a-1") {
			return k
		}
	}
	return ""
}

// TestNoStartAndNoDeps: --no-start creates without starting; --no-deps
// leaves the named service's dependencies alone.
func TestNoStartAndNoDeps(t *testing.T) {
	t.Parallel()
	c := newProject(t, convergeYAML)
	c.must("up", "-d", "--no-start")
	for _, e := range c.ps() {
		if e.State != "created" {
			t.Errorf("--no-start: %s is %s", e.Name, e.State)
		}
	}
	c.must("down", "-t", "0")
	c.must("up", "-d", "--no-deps", "c")
	var services []string
	for _, e := range c.ps() {
		services = append(services, e.Service)
	}
	if !slices.Equal(services, []string{"c"}) {
		t.Errorf("up --no-deps c created %v", services)
	}
}

const dependsYAML = `
services:
  db:
    image: busybox
    command: [sh, -c, "echo db booting; sleep 2; touch /tmp/ready; echo db ready; sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ready]
      interval: 100ms
      retries: 100
  migrate:
    image: busybox
    command: [sh, -c, "echo migrating; exit ${MIGRATE_EXIT:-0}"]
  app:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
`

// TestDependsOnConditions: up waits for a slow healthcheck and a migration
// before starting app; a failed migration or an unhealthy dependency stop up
// with exit 1 and Docker Compose's message, showing the dependency's logs.
func TestDependsOnConditions(t *testing.T) {
	t.Parallel()
	c := newProject(t, dependsYAML)
	r := c.must("up", "-d")
	ents := map[string]psEntry{}
	for _, e := range c.ps() {
		ents[e.Service] = e
	}
	if ents["app"].State != "running" || ents["migrate"].State != "exited" {
		t.Fatalf("after up: %+v\n%s", ents, r.stderr)
	}
	dbStart, appStart := c.containerStart(ents["db"].ID), c.containerStart(ents["app"].ID)
	if appStart.Sub(dbStart) < 2*time.Second {
		t.Errorf("app started %s after db: before db's healthcheck could pass", appStart.Sub(dbStart))
	}
	if h := c.psHealth()["db"]; h.Health != "healthy" {
		t.Errorf("db health %+v", h)
	}
	c.must("down", "-t", "0")

	// A failed migration: exit 1, named, with its logs; app never created.
	c.env = append(c.env, "MIGRATE_EXIT=3")
	r = c.run("up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, `service "migrate" didn't complete successfully: exit 3`) {
		t.Fatalf("failed migration: %s", r)
	}
	if !strings.Contains(r.stderr, "migrating") {
		t.Errorf("the migration's logs are not shown:\n%s", r.stderr)
	}
	for _, e := range c.ps() {
		if e.Service == "app" && e.State != "created" { // Docker leaves it created
			t.Errorf("app is %s although migrate failed", e.State)
		}
	}
	c.must("down", "-t", "0")
}

// TestUnhealthyDependency: a dependency whose healthcheck fails stops up.
func TestUnhealthyDependency(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  db:
    image: busybox
    command: [sh, -c, "echo db broken; sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, "false"]
      interval: 100ms
      retries: 2
  app:
    image: busybox
    command: [sleep, "600"]
    depends_on:
      db:
        condition: service_healthy
`)
	r := c.run("up", "-d")
	db := ""
	for _, e := range c.ps() {
		if e.Service == "db" {
			db = e.Name
		}
		if e.Service == "app" && e.State != "created" {
			t.Errorf("app is %s although db is unhealthy", e.State)
		}
	}
	if r.code != 1 || !strings.Contains(r.stderr, "dependency failed to start: container "+db+" is unhealthy") {
		t.Fatalf("unhealthy dependency: %s", r)
	}
	if !strings.Contains(r.stderr, "db broken") {
		t.Errorf("db's logs are not shown:\n%s", r.stderr)
	}
}

// TestScaleKeepsNumbers: scaling down removes the highest numbers, scaling
// up adds after the highest, through `up --scale` and `compose scale`.
func TestScaleKeepsNumbers(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
`)
	numbers := func() (ids map[string]string) {
		ids = map[string]string{}
		for _, e := range c.ps() {
			ids[e.Name[strings.LastIndex(e.Name, "-")+1:]] = e.ID
		}
		return ids
	}
	keys := func(m map[string]string) []string {
		var k []string
		for n := range m {
			k = append(k, n)
		}
		slices.Sort(k)
		return k
	}
	c.must("up", "-d", "--scale", "web=3")
	three := numbers()
	if got := keys(three); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("scale 3: %v", got)
	}
	c.must("up", "-d", "--scale", "web=1")
	one := numbers()
	if got := keys(one); !slices.Equal(got, []string{"1"}) || one["1"] != three["1"] {
		t.Fatalf("scale 3 -> 1: %v (web-1 kept: %v)", got, one["1"] == three["1"])
	}
	c.must("up", "-d", "--scale", "web=2")
	two := numbers()
	if got := keys(two); !slices.Equal(got, []string{"1", "2"}) || two["1"] != three["1"] {
		t.Fatalf("scale 1 -> 2: %v", got)
	}

	c.must("scale", "web=3")
	if got := keys(numbers()); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("compose scale web=3: %v", got)
	}
	c.must("scale", "--no-deps", "web=1")
	if got := numbers(); !slices.Equal(keys(got), []string{"1"}) || got["1"] != three["1"] {
		t.Fatalf("compose scale web=1: %v", keys(got))
	}
	if r := c.run("scale", "nosuch=2"); r.code != 1 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("scale of an unknown service: %s", r)
	}
	if r := c.run("up", "-d", "--scale", "web=x"); r.code != 1 || !strings.Contains(r.stderr, "--scale") {
		t.Errorf("bad --scale: %s", r)
	}
}

// TestContainerNameWithReplicas is refused, naming the service, whether
// the replicas come from the file or from --scale.
func TestContainerNameWithReplicas(t *testing.T) {
	t.Parallel()
	const yaml = `
services:
  web:
    image: busybox
    container_name: fixed-%s
    command: [sleep, "600"]
`
	c := newProject(t, fmt.Sprintf(yaml, t.Name()))
	for _, args := range [][]string{{"up", "-d", "--scale", "web=2"}, {"scale", "web=2"}} {
		r := c.run(append([]string{"--progress", "quiet"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, `service "web"`) || !strings.Contains(r.stderr, "container_name") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Fatalf("%v with container_name: %s", args, r)
		}
	}
	c.writeCompose(fmt.Sprintf(yaml, t.Name()) + "    deploy:\n      replicas: 2\n")
	r := c.run("--progress", "quiet", "up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, "web") || !strings.Contains(r.stderr, "container_name") {
		t.Fatalf("container_name with 2 replicas: %s", r)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.root, "containers")); len(ents) > 0 {
		t.Errorf("containers were created: %v", ents)
	}
}

// TestRecreateKeepsAnonymousVolumes unless -V, and an optional dependency
// disabled by a profile is skipped with a warning.
func TestRecreateKeepsAnonymousVolumes(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    volumes: [/data]
    depends_on:
      cache:
        condition: service_healthy
        required: false
  cache:
    image: busybox
    profiles: [extra]
`)
	r := c.must("up", "-d")
	if !strings.Contains(r.stderr, `optional dependency "cache" of service "app" is not available`) {
		t.Errorf("no warning about the disabled optional dependency:\n%s", r.stderr)
	}
	c.must("exec", "-T", "app", "sh", "-c", "echo kept > /data/file")
	c.must("up", "-d", "--force-recreate")
	if out := c.must("exec", "-T", "app", "cat", "/data/file").stdout; strings.TrimSpace(out) != "kept" {
		t.Errorf("recreate lost the anonymous volume: %q", out)
	}
	c.must("up", "-d", "--force-recreate", "-V")
	if r := c.run("exec", "-T", "app", "cat", "/data/file"); r.code == 0 {
		t.Errorf("-V kept the old anonymous volume: %s", r)
	}
}
