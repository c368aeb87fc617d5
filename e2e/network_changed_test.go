package e2e

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/composer-dev/compose/internal/testutil"
)

const changedStack = `
services:
  a:
    image: busybox
    command: ["sleep", "1000"]
    networks: [n]
networks:
  n:
    name: %s
    labels: {tier: %s}
    ipam:
      config:
        - subnet: %s
`

// TestNetworkChanged: up with a network whose options differ from the
// existing one fails like Docker Compose (recreate it first) and leaves it
// alone; another project naming the same network gets Docker's warning.
func TestNetworkChanged(t *testing.T) {
	testutil.RequiresRoot(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("chg%x", b)
	subnet := fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, b[1])
	other := fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, b[1]^1)
	c := projectCLI(t, "chg", fmt.Sprintf(changedStack, name, "front", subnet))
	c.must("up", "-d")
	write := func(yaml string) {
		if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for option, yaml := range map[string]string{
		"labels":             fmt.Sprintf(changedStack, name, "back", subnet),
		"ipam.config.subnet": fmt.Sprintf(changedStack, name, "front", other),
	} {
		write(yaml)
		r := c.run("up", "-d")
		want := fmt.Sprintf("network %s needs to be recreated - option %q has changed", name, option)
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("up with a changed %s: want one line with %q, got %s", option, want, r)
		}
	}
	nets := c.networks()
	if len(nets) != 1 || nets[0].Subnet != subnet || nets[0].Labels["tier"] != "front" {
		t.Fatalf("the network changed: %+v", nets)
	}
	write(fmt.Sprintf(changedStack, name, "front", subnet))
	c.must("up", "-d")

	d := projectCLI(t, "chgo", fmt.Sprintf(changedStack, name, "front", subnet))
	d.root = c.root
	d.env[0] = c.env[0]
	r := d.must("up", "-d")
	want := fmt.Sprintf("a network with name %s exists but was not created for project %q.\nSet `external: true` to use an existing network", name, d.project())
	if !strings.Contains(r.stderr, want) {
		t.Errorf("another project's up: want warning %q, got %s", want, r)
	}
	d.must("down", "-t", "0")
	c.must("down", "-t", "0")
	write(fmt.Sprintf(changedStack, name, "back", other))
	c.must("up", "-d") // recreated after down
	if nets := c.networks(); len(nets) != 1 || nets[0].Subnet != other {
		t.Fatalf("after down and up: %+v", nets)
	}
}

func (c *cli) project() string {
	for _, e := range c.env {
		if v, ok := strings.CutPrefix(e, "COMPOSE_PROJECT_NAME="); ok {
			return v
		}
	}
	return ""
}
