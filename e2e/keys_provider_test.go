package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// fakeProvider is a provider program speaking Docker Compose's provider
// protocol: metadata lists the options up takes, up reports progress and
// sets a variable for its dependents; every call is logged.
const fakeProvider = `#!/bin/sh
echo "$*" >> "$PROVIDER_LOG"
[ "$1 $2" = "compose metadata" ] && { echo '{"description":"fake","up":{"parameters":[{"name":"size","required":true}]},"down":{"parameters":[]}}'; exit 0; }
case "$*" in
*" up "*) echo '{"type":"info","message":"provisioning"}'; echo '{"type":"setenv","message":"URL=db.example:5432"}';;
*" down "*) echo '{"type":"info","message":"deprovisioning"}';;
esac
`

// TestProviderService: a service with `provider:` runs no container; its
// provider program (here "fakeprov" in PATH, as Docker Compose falls back
// to when there is no docker-fakeprov CLI plugin) is run with Compose's
// command line, and what it sets reaches its dependents as DATABASE_URL
// (pkg/compose/plugins.go).
func TestProviderService(t *testing.T) {
	c := newProject(t, `
services:
  database:
    provider:
      type: fakeprov
      options:
        size: "1"
        flavour: ignored
  app:
    image: busybox
    depends_on: [database]
    command: ["sh", "-c", "echo url=$$DATABASE_URL; sleep 1000"]
`)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "fakeprov"), []byte(fakeProvider), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "calls")
	c.env = append(c.env, "PATH="+bin+":"+os.Getenv("PATH"), "PROVIDER_LOG="+log)
	var project string
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "COMPOSE_PROJECT_NAME="); ok {
			project = v
		}
	}

	up := c.must("--progress", "plain", "up", "-d")
	// Docker Compose v5's plain lines: " <id> <status> <details>" (cmd/display/plain.go).
	for _, want := range []string{"database Creating", "database provisioning", "database Created"} {
		if !strings.Contains(up.stderr, want) {
			t.Errorf("up lacks %q:\n%s", want, up.stderr)
		}
	}
	testutil.Eventually(t, 10*time.Second, "app to print the provider's variable", func() bool {
		return strings.Contains(c.run("logs", "app").stdout, "url=db.example:5432")
	})
	if ps := c.ps(); len(ps) != 1 || ps[0].Service != "app" {
		t.Errorf("a provider service has no container: %+v", ps)
	}
	c.must("down", "-t", "0")
	calls, _ := os.ReadFile(log)
	for _, want := range []string{
		"compose --project-name=" + project + " up --size=1 database\n",
		"compose --project-name=" + project + " down database\n",
	} {
		if !strings.Contains(string(calls), want) {
			t.Errorf("provider calls lack %q:\n%s", want, calls)
		}
	}
}

// TestProviderAndModelsRefused: a provider type with no program, and
// models, which need Docker Model Runner ("'models' support requires
// Docker Model plugin" in pkg/compose/model.go), are refused in one line
// before anything is created.
func TestProviderAndModelsRefused(t *testing.T) {
	c := newProject(t, `
services:
  database:
    provider:
      type: nosuchprovider
  app:
    image: busybox
    models: [llm]
models:
  llm:
    model: ai/smollm2
`)
	r := c.run("up", "-d", "database")
	if r.code != 1 || !strings.Contains(r.stderr, `service "database": provider "nosuchprovider": no docker-nosuchprovider CLI plugin and no nosuchprovider in $PATH`) {
		t.Errorf("up database: %s", r)
	}
	r = c.run("up", "-d", "app")
	if r.code != 1 || !strings.Contains(r.stderr, `service "app": model "llm": models need Docker Model Runner`) {
		t.Errorf("up app: %s", r)
	}
	if len(c.networks()) != 0 || len(c.ps()) != 0 {
		t.Errorf("something was created before the refusal")
	}
}
