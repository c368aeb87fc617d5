package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// containerRecord reads what the engine keeps about a container.
func (c *cli) containerRecord(id string) map[string]any {
	c.t.Helper()
	data, err := os.ReadFile(filepath.Join(c.root, "containers", id, "container.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		c.t.Fatal(err)
	}
	return rec
}

// TestContainerConfigKeys: `command: ""`, `environment: [NAME]` with NAME
// unset, `expose` and `annotations` shape the container as Docker's do.
//
// Docker Compose passes `command: ""` as an empty Cmd and the daemon then
// uses the image's (moby daemon/commit.go merge: `if len(userConf.Cmd) == 0
// { userConf.Cmd = imageConf.Cmd }`); an unset `environment: [NAME]` goes
// as "NAME", which removes the image's NAME (moby ReplaceOrAppendEnvValues);
// `expose` joins the image's EXPOSE in Config.ExposedPorts
// (pkg/compose/create.go buildContainerPorts); `annotations` are the OCI
// spec's annotations handed to runc (HostConfig.Annotations).
func TestContainerConfigKeys(t *testing.T) {
	c := newProject(t, `
services:
  app:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox
        ENV DROPPED=image KEEP=image
        EXPOSE 8080
        CMD ["sh", "-c", "echo image-cmd-ran; env | sort; sleep 1000"]
    command: ""
    environment:
      - DROPPED
    expose: ["3000", "9000-9001/udp"]
    annotations:
      com.example.team: infra
`)
	c.must("up", "-d")
	var logs string
	testutil.Eventually(t, 20*time.Second, "the image's CMD to run", func() bool {
		logs = c.run("logs", "app").stdout
		return strings.Contains(logs, "KEEP=image")
	})
	if !strings.Contains(logs, "image-cmd-ran") || strings.Contains(logs, "DROPPED") {
		t.Errorf("want the image's CMD and no DROPPED variable:\n%s", logs)
	}
	id := c.idOf("app")
	exposed, _ := c.containerRecord(id)["exposed"].([]any)
	var got []string
	for _, p := range exposed {
		got = append(got, p.(string))
	}
	if want := []string{"3000/tcp", "8080/tcp", "9000/udp", "9001/udp"}; !slices.Equal(got, want) {
		t.Errorf("exposed ports %q, want %q", got, want)
	}
	state, err := os.ReadFile(filepath.Join(engine.RunDir(c.root), "runc", id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(state), `"com.example.team=infra"`) {
		t.Errorf("runc state lacks the annotation:\n%.400s", state)
	}
}

// TestUseAPISocketRefused: Docker Compose bind-mounts the Docker API socket
// for use_api_socket (pkg/compose/apiSocket.go); there is none here, so `up`
// refuses it in one line before creating anything.
func TestUseAPISocketRefused(t *testing.T) {
	c := newProject(t, `
services:
  app:
    image: busybox
    use_api_socket: true
`)
	r := c.run("up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, `service "app": use_api_socket is not supported`) {
		t.Fatalf("up: %s", r)
	}
	if n := len(c.networks()); n != 0 || len(c.ps()) != 0 {
		t.Errorf("up created %d networks and %d containers before refusing", n, len(c.ps()))
	}
}

// hooksProject runs all three lifecycle hooks. pre_start is a container of
// its own sharing the service's volumes; post_start and pre_stop are exec'd
// in the service's container with their own user, working dir and
// environment (Docker Compose: pkg/compose/pre_start.go, hook.go).
const hooksProject = `
services:
  web:
    image: busybox
    user: "1000"
    command: ["sh", "-c", "until [ -e /tmp/post ]; do sleep 0.05; done; echo main-after-hook; sleep 1000"]
    stop_grace_period: 1s
    volumes:
      - data:/data
    pre_start:
      - command: ["sh", "-c", "echo preparing; echo seeded > /data/seed"]
        user: root
    post_start:
      - command: ["sh", "-c", "echo hook-user $$(id -u) $$PWD $$HOOKVAR; touch /tmp/post"]
        user: root
        working_dir: /tmp
        environment:
          HOOKVAR: set
    pre_stop:
      - command: ["sh", "-c", "echo stopping > /data/pre_stop"]
        user: root
volumes:
  data:
`

// TestLifecycleHooks: `up -d` runs pre_start before the container starts
// and post_start once it runs (output not shown: Docker Compose runs hooks
// without a listener when detached), `stop` runs pre_stop first, `start`
// runs pre_start again since no replica runs.
func TestLifecycleHooks(t *testing.T) {
	c := newProject(t, hooksProject)
	up := c.must("up", "-d")
	if strings.Contains(up.stdout+up.stderr, "preparing") || strings.Contains(up.stdout+up.stderr, "hook-user") {
		t.Errorf("a detached up showed hook output:\n%s", up)
	}
	if got := c.must("exec", "-T", "web", "cat", "/data/seed").stdout; got != "seeded\n" {
		t.Errorf("pre_start did not write the shared volume: %q", got)
	}
	if ps := c.ps(); len(ps) != 1 || ps[0].Service != "web" || ps[0].State != "running" {
		t.Errorf("want web running and no pre_start container left: %+v", ps)
	}
	testutil.Eventually(t, 10*time.Second, "the container to see post_start's file", func() bool {
		return strings.Contains(c.run("logs", "web").stdout, "main-after-hook")
	})
	// A running replica: a second up neither runs pre_start nor post_start.
	c.must("exec", "-T", "-u", "root", "web", "rm", "/data/seed", "/tmp/post")
	c.must("up", "-d")
	if r := c.run("exec", "-T", "web", "ls", "/data/seed", "/tmp/post"); r.code == 0 {
		t.Errorf("hooks ran again for a running container: %s", r)
	}
	c.must("stop")
	c.must("start")
	if got := c.must("exec", "-T", "web", "cat", "/data/pre_stop").stdout; got != "stopping\n" {
		t.Errorf("pre_stop did not run before stop: %q", got)
	}
}

// TestLifecycleHooksAttached: an attached `up` shows what hooks print among
// the logs, under "web pre_start[0] ->" and "web-1 ->" in the container's
// colour, the column as wide as the longest name (Docker Compose:
// pre_start.go streamPreStartLogs source "%s pre_start[%d] ->", hook.go
// source getContainerNameWithoutProject(ctr)+" ->", cmd/formatter/logs.go).
func TestLifecycleHooksAttached(t *testing.T) {
	c := newProject(t, strings.Replace(hooksProject, "echo main-after-hook; sleep 1000", "echo main-after-hook", 1))
	r := c.must("up", "--no-color")
	for _, want := range []string{
		"Attaching to web-1",
		"web pre_start[0] ->  | preparing",
		"web-1 ->             | hook-user 0 /tmp set",
		"web-1                | main-after-hook",
		"web-1 exited with code 0",
	} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("attached output lacks %q:\n%s", want, r.stdout)
		}
	}
	if i, j := strings.Index(r.stdout, "Attaching to"), strings.Index(r.stdout, "| preparing"); i < 0 || j < i {
		t.Errorf("hook output before \"Attaching to\":\n%s", r.stdout)
	}
}

// TestLifecycleHookFailures: a failing hook fails the command with Docker
// Compose's message and the end of what the hook printed (stderr first):
// pre_start `service "web" pre_start[0] exited with code N`, the service
// left created; post_start and pre_stop `web hook exited with status N`;
// a failed pre_stop leaves the container running.
func TestLifecycleHookFailures(t *testing.T) {
	t.Run("pre_start", func(t *testing.T) {
		c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    pre_start:
      - command: ["sh", "-c", "echo progress; echo boom >&2; exit 3"]
`)
		r := c.run("up", "-d")
		if r.code != 1 || !strings.Contains(r.stderr, `service "web" pre_start[0] exited with code 3: boom`) {
			t.Fatalf("up: %s", r)
		}
		if ps := c.ps(); len(ps) != 1 || ps[0].State != "created" {
			t.Errorf("want web created, not started, and no hook container left: %+v", ps)
		}
	})
	t.Run("post_start", func(t *testing.T) {
		c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    post_start:
      - command: ["sh", "-c", "echo nope; exit 4"]
`)
		r := c.run("up", "-d")
		if r.code != 1 || !strings.Contains(r.stderr, "web hook exited with status 4: nope") {
			t.Fatalf("up: %s", r)
		}
	})
	t.Run("pre_stop", func(t *testing.T) {
		c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    pre_stop:
      - command: ["sh", "-c", "exit 5"]
`)
		t.Cleanup(func() { // first: a running web would fail the cleanup's down
			c.run("kill")
			testutil.Eventually(t, 10*time.Second, "web to be killed", func() bool { return c.stateOf("web") != "running" })
		})
		c.must("up", "-d")
		for _, cmd := range [][]string{{"stop"}, {"down"}} {
			r := c.run(cmd...)
			if r.code != 1 || !strings.Contains(r.stderr, "web hook exited with status 5") {
				t.Errorf("%s: %s", cmd[0], r)
			}
			if st := c.stateOf("web"); st != "running" {
				t.Errorf("after a failed pre_stop web is %q, want running", st)
			}
		}
	})
}
