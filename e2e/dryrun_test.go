package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/engine"
)

// hostListing is everything a command could change on the host: files under
// the state root and the runtime dir, links, nftables tables, mounts.
func (c *cli) hostListing() []string {
	c.t.Helper()
	var out []string
	for _, dir := range []string{c.root, engine.RunDir(c.root)} {
		_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err == nil && !strings.Contains(path, "-json.log") { // a log may grow on its own
				out = append(out, path+" "+info.ModTime().String())
			}
			return nil
		})
	}
	// Links and nftables tables of this root's networks only: other tests
	// on the host change theirs meanwhile. A network a dry run made would
	// show in the state files above.
	links, _ := netlink.LinkList()
	tables := []*nftables.Table{}
	if conn, err := nftables.New(); err == nil {
		tables, _ = conn.ListTables()
	}
	for _, n := range c.networks() {
		br, err := netlink.LinkByName(n.Bridge)
		if err != nil {
			continue
		}
		out = append(out, "bridge "+n.Bridge)
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				out = append(out, "link "+l.Attrs().Name)
			}
		}
		for _, tb := range tables {
			if strings.Contains(tb.Name, n.Bridge) {
				out = append(out, "nft "+tb.Name)
			}
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, c.root) {
			out = append(out, "mount "+line)
		}
	}
	slices.Sort(out)
	return out
}

func (c *cli) assertUnchanged(before []string, what string) {
	c.t.Helper()
	after := c.hostListing()
	if !slices.Equal(before, after) {
		for _, l := range after {
			if !slices.Contains(before, l) {
				c.t.Errorf("%s added %s", what, l)
			}
		}
		for _, l := range before {
			if !slices.Contains(after, l) {
				c.t.Errorf("%s removed %s", what, l)
			}
		}
	}
}

// TestDryRun: --dry-run up and down report what they would do, in Docker
// Compose's words, and change nothing on the host.
func TestDryRun(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    volumes: [data:/data]
  db:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
volumes:
  data:
`)
	before := c.hostListing()
	r := c.must("--dry-run", "--progress", "plain", "up", "-d")
	for _, want := range []string{"DRY-RUN MODE -  Network ", "DRY-RUN MODE -  Container ", "-web-1  Created", "-web-1  Started", "Volume "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("dry-run up output lacks %q:\n%s", want, r.stderr)
		}
	}
	c.assertUnchanged(before, "--dry-run up -d")
	if ents := c.ps(); len(ents) != 0 {
		t.Fatalf("--dry-run up created %+v", ents)
	}

	c.must("up", "-d")
	running := c.ps()
	before = c.hostListing()
	r = c.must("--dry-run", "--progress", "plain", "down", "-v")
	for _, e := range running {
		if !strings.Contains(r.stderr, "DRY-RUN MODE -  Container "+e.Name+"  Removed") {
			t.Errorf("dry-run down does not report removing %s:\n%s", e.Name, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "DRY-RUN MODE -  Network ") || !strings.Contains(r.stderr, "DRY-RUN MODE -  Volume ") {
		t.Errorf("dry-run down -v does not report the network and volume:\n%s", r.stderr)
	}
	r = c.must("--dry-run", "--progress", "plain", "up", "-d", "--force-recreate", "--scale", "db=2")
	if !strings.Contains(r.stderr, "Recreate") || !strings.Contains(r.stderr, "-db-2  Created") {
		t.Errorf("dry-run up --force-recreate --scale db=2:\n%s", r.stderr)
	}
	c.must("--dry-run", "scale", "db=0")
	c.assertUnchanged(before, "--dry-run down/up/scale")
	after := c.ps()
	if len(after) != len(running) {
		t.Fatalf("dry runs changed the containers: %+v", after)
	}
	for i := range after {
		if after[i].ID != running[i].ID || after[i].State != "running" {
			t.Errorf("dry runs touched %s", after[i].Name)
		}
	}
	if r := c.run("--dry-run", "kill"); r.code != 1 || !strings.Contains(r.stderr, "--dry-run") {
		t.Errorf("--dry-run kill: %s", r)
	}
}
