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
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
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
// existing one recreates the network and the containers attached to it,
// as Docker Compose does; while another project's container still uses it,
// up fails in one line and leaves it alone; another project naming the
// same network gets Docker's warning.
func TestNetworkChanged(t *testing.T) {
	t.Parallel()
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
	for _, tc := range []struct{ tier, subnet string }{{"back", subnet}, {"back", other}} {
		before := c.idOf("a")
		write(fmt.Sprintf(changedStack, name, tc.tier, tc.subnet))
		r := c.must("--progress", "plain", "up", "-d")
		if !strings.Contains(r.stderr, "Network "+name+" Recreate") {
			t.Errorf("up with tier %s, subnet %s: no Recreate progress:\n%s", tc.tier, tc.subnet, r.stderr)
		}
		nets := c.networks()
		if len(nets) != 1 || nets[0].Subnet != tc.subnet || nets[0].Labels["tier"] != tc.tier {
			t.Fatalf("the network was not recreated with the new options: %+v", nets)
		}
		if after := c.idOf("a"); after == before || after == "" {
			t.Errorf("the attached container was not recreated (%s -> %s)", before, after)
		}
	}

	d := projectCLI(t, "chgo", fmt.Sprintf(changedStack, name, "back", other))
	d.root = c.root
	d.env[0] = c.env[0]
	r := d.must("up", "-d")
	want := fmt.Sprintf("a network with name %s exists but was not created for project %q.\nSet `external: true` to use an existing network", name, d.project())
	if !strings.Contains(r.stderr, want) {
		t.Errorf("another project's up: want warning %q, got %s", want, r)
	}
	write(fmt.Sprintf(changedStack, name, "front", other))
	r = c.run("up", "-d")
	if want := fmt.Sprintf("network %s needs to be recreated (its options changed)", name); r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("up with a changed network another project uses: want an error with %q, got %s", want, r)
	}
	if nets := c.networks(); len(nets) != 1 || nets[0].Labels["tier"] != "back" {
		t.Fatalf("the network another project uses changed: %+v", nets)
	}
	d.must("down", "-t", "0")
	c.must("up", "-d")
	if nets := c.networks(); len(nets) != 1 || nets[0].Labels["tier"] != "front" {
		t.Fatalf("after the other project left: %+v", nets)
	}
	c.must("down", "-t", "0")
}

func (c *cli) project() string {
	for _, e := range c.env {
		if v, ok := strings.CutPrefix(e, "COMPOSE_PROJECT_NAME="); ok {
			return v
		}
	}
	return ""
}
