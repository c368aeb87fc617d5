package e2e

import (
	"crypto/sha1"
	"fmt"
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
	t.Parallel()
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
	for _, want := range []string{"DRY-RUN MODE -  Network ", "DRY-RUN MODE -  Container ", "-web-1 Created", "-web-1 Started", "Volume "} {
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
		if !strings.Contains(r.stderr, "DRY-RUN MODE -  Container "+e.Name+" Removed") {
			t.Errorf("dry-run down does not report removing %s:\n%s", e.Name, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "DRY-RUN MODE -  Network ") || !strings.Contains(r.stderr, "DRY-RUN MODE -  Volume ") {
		t.Errorf("dry-run down -v does not report the network and volume:\n%s", r.stderr)
	}
	// --rmi reports the images the same down removes (their containers go first).
	if r := c.must("--dry-run", "--progress", "plain", "down", "--rmi", "all"); !strings.Contains(r.stderr, "DRY-RUN MODE -  Image busybox Removed") {
		t.Errorf("dry-run down --rmi all does not report the image:\n%s", r.stderr)
	}
	r = c.must("--dry-run", "--progress", "plain", "up", "-d", "--force-recreate", "--scale", "db=2")
	if !strings.Contains(r.stderr, "Recreate") || !strings.Contains(r.stderr, "-db-2 Created") {
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
	if r := c.run("--dry-run", "image", "tag", "busybox", "dry:1"); r.code != 1 || !strings.Contains(r.stderr, "--dry-run") {
		t.Errorf("--dry-run image tag: %s", r)
	}
}

// TestDryRunCommands: every mutating command that supports --dry-run, run
// against a running project, reports in Docker Compose's words and changes
// nothing: no container state, network, volume, image, state file or lock.
func TestDryRunCommands(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    volumes: [data:/data, /anon]
  db:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
volumes:
  data:
`)
	// Pull, push and build use another file: an unreachable registry, so
	// any network traffic would fail the command.
	if err := os.MkdirAll(filepath.Join(c.dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "app", "Dockerfile"), []byte("FROM busybox\nRUN echo built > /f\nCMD [\"cat\", \"/f\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "build.yaml"), []byte(`
services:
  app:
    image: 127.0.0.1:9/dry/app:1
    build: ./app
  remote:
    image: 127.0.0.1:9/dry/remote:1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must("up", "-d")
	c.must("stop", "db")
	c.must("volume", "create", "dryvol")
	c.must("network", "create", "drynet")
	t.Cleanup(func() { c.run("network", "rm", "drynet") })
	running := c.ps()
	before := c.hostListing()
	web, db := c.project()+"-web-1", c.project()+"-db-1"

	dry := func(want []string, args ...string) {
		t.Helper()
		r := c.must(append([]string{"--dry-run", "--progress", "plain"}, args...)...)
		for _, w := range want {
			if !strings.Contains(r.stdout+r.stderr, "DRY-RUN MODE -  "+w) {
				t.Errorf("--dry-run %s lacks %q:\n%s", strings.Join(args, " "), "DRY-RUN MODE -  "+w, r)
			}
		}
	}
	// Docker Compose's plain lines in a dry run: fmt.Fprintln(out,
	// " DRY-RUN MODE - ", e.ID, e.Text, e.Details) (cmd/display/plain.go).
	ctr := func(name, status string) string { return fmt.Sprintf("Container %s %s \n", name, status) }
	dry([]string{ctr(db, "Starting"), ctr(db, "Started")}, "start")
	dry([]string{ctr(web, "Stopping"), ctr(web, "Stopped")}, "stop")
	dry([]string{ctr(web, "Restarting"), ctr(db, "Restarting"), ctr(db, "Started")}, "restart")
	dry([]string{ctr(web, "Killing"), ctr(web, "Killed")}, "kill")
	dry([]string{ctr(web, "Paused")}, "pause") // pause.go reports the outcome only
	dry([]string{ctr(web, "Unpaused")}, "unpause")
	dry([]string{ctr(db, "Removed")}, "rm", "-f")
	dry([]string{ctr(web, "Stopped"), ctr(web, "Removed"), ctr(db, "Removed")}, "rm", "-f", "-s", "-v")
	dry([]string{"Image 127.0.0.1:9/dry/remote:1 Pulling \n", "Image 127.0.0.1:9/dry/remote:1 Pulled \n"}, "-f", "build.yaml", "pull", "remote")
	dry([]string{"127.0.0.1:9/dry/app:1 Pushing \n", "127.0.0.1:9/dry/app:1 Pushed \n"}, "-f", "build.yaml", "push")
	// build_bake.go, dryRunBake: the target's writing and naming lines, then
	// "Image <target> Built".
	dry([]string{"Image 127.0.0.1:9/dry/app:1 Building \n",
		fmt.Sprintf("app ==> ==> writing image dryRun-%x \n", sha1.Sum([]byte("app"))),
		"app ==> ==> naming to 127.0.0.1:9/dry/app:1 \n", "Image app Built \n"}, "-f", "build.yaml", "build")
	dry([]string{"dryvol"}, "volume", "rm", "dryvol")
	dry([]string{"Deleted Volumes:", "dryvol"}, "volume", "prune", "-a")
	dry([]string{"drynet"}, "network", "rm", "drynet")
	dry([]string{"Deleted Networks:", "drynet"}, "network", "prune", "-f")
	dry([]string{"Untagged: busybox:latest"}, "image", "rm", "-f", "busybox")
	dry([]string{"Total reclaimed space:"}, "image", "prune", "-a")

	// A dry run still fails where the real command would.
	if r := c.run("--dry-run", "volume", "rm", c.project()+"_data"); r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Errorf("--dry-run volume rm of a volume in use: %s", r)
	}
	if r := c.run("--dry-run", "network", "rm", "nosuchnet"); r.code == 0 {
		t.Errorf("--dry-run network rm of a missing network: %s", r)
	}

	c.assertUnchanged(before, "the dry runs")
	after := c.ps()
	if len(after) != len(running) {
		t.Fatalf("dry runs changed the containers: %+v", after)
	}
	for i := range after {
		if after[i] != running[i] {
			t.Errorf("dry runs changed %+v to %+v", running[i], after[i])
		}
	}
	if r := c.must("image", "ls"); strings.Contains(r.stdout, "dry/app") {
		t.Errorf("--dry-run build made an image:\n%s", r.stdout)
	}
}
