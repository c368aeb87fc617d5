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
