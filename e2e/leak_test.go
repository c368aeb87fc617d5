package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
	"github.com/composer-dev/compose/networks"
)

func (c *cli) networks() []networks.Network {
	c.t.Helper()
	m := &networks.Manager{StateDir: filepath.Join(c.root, "networks"), RunDir: engine.RunDir(c.root)}
	nets, err := m.List()
	if err != nil {
		c.t.Fatalf("list networks: %v", err)
	}
	return nets
}

// hostSnapshot names the host objects a running stack owns.
type hostSnapshot struct {
	ids     []string
	bridges []string
	veths   []string
}

func (c *cli) snapshot(entries []psEntry) hostSnapshot {
	c.t.Helper()
	var s hostSnapshot
	for _, e := range entries {
		s.ids = append(s.ids, e.ID)
	}
	for _, n := range c.networks() {
		s.bridges = append(s.bridges, n.Bridge)
		br, err := netlink.LinkByName(n.Bridge)
		if err != nil {
			c.t.Fatalf("bridge %s of %s missing while up: %v", n.Bridge, n.Name, err)
		}
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				s.veths = append(s.veths, l.Attrs().Name)
			}
		}
	}
	if len(s.bridges) == 0 || len(s.veths) == 0 {
		c.t.Fatalf("snapshot found no bridge/veth while the stack is up: %+v", s)
	}
	return s
}

// assertClean checks that `down` left nothing: processes, mounts, links,
// cgroups, nftables tables, the runtime dir, lock files.
func (c *cli) assertClean(s hostSnapshot) {
	c.t.Helper()
	runDir := engine.RunDir(c.root)
	// The DNS server leaves on its own once no network remains.
	testutil.Eventually(c.t, 10*time.Second, "compose processes of this root to exit", func() bool {
		return len(processesMentioning(c.root)) == 0
	})
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, c.root) || strings.Contains(line, runDir) {
			c.t.Errorf("mount left behind: %s", line)
		}
	}
	for _, name := range append(append([]string{}, s.bridges...), s.veths...) {
		if _, err := netlink.LinkByName(name); err == nil {
			c.t.Errorf("link %s left behind", name)
		}
	}
	for _, id := range s.ids {
		for _, pattern := range []string{"/sys/fs/cgroup/*/compose/" + id, "/sys/fs/cgroup/compose/" + id, "/sys/fs/cgroup/*/*/" + id} {
			if left, _ := filepath.Glob(pattern); len(left) > 0 {
				c.t.Errorf("cgroup left behind: %v", left)
			}
		}
		if _, err := os.Stat(filepath.Join(c.root, "containers", id)); err == nil {
			c.t.Errorf("container dir %s left behind", id)
		}
	}
	conn, err := nftables.New()
	if err != nil {
		c.t.Fatalf("nftables: %v", err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		c.t.Fatalf("nftables: %v", err)
	}
	for _, tb := range tables {
		for _, br := range s.bridges {
			if strings.Contains(tb.Name, br) {
				c.t.Errorf("nftables table %s left behind", tb.Name)
			}
		}
	}
	if nets := c.networks(); len(nets) > 0 {
		c.t.Errorf("networks left in state: %+v", nets)
	}
	// The last compose process of the emptied root removes its runtime dir.
	if !waitFor(10*time.Second, func() bool { return c.runDirLeftovers() == "" }) {
		c.t.Errorf("runtime dir left: %s", c.runDirLeftovers())
	}
	if locks := c.lockFiles(); len(locks) > 0 {
		c.t.Errorf("lock files left: %v", locks)
	}
}

// processesMentioning lists pids whose command line mentions s.
func processesMentioning(s string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			out = append(out, p)
		}
	}
	return out
}

// runAsNobody runs compose as an unprivileged user.
func (c *cli) runAsNobody(args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // also used from t.Cleanup, after t.Context ends
	defer cancel()
	cmd := c.command(ctx, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run as nobody: %v", err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// runDirLeftovers lists what is left of the root's runtime dir, "" when
// it is gone.
func (c *cli) runDirLeftovers() string {
	var left []string
	runDir := engine.RunDir(c.root)
	_ = filepath.WalkDir(runDir, func(path string, d os.DirEntry, err error) error {
		if err == nil {
			left = append(left, path)
		}
		return nil
	})
	return strings.Join(left, " ")
}

// lockFiles lists the project lock files of the root.
func (c *cli) lockFiles() []string {
	locks, _ := filepath.Glob(filepath.Join(c.root, "locks", "*.lock"))
	return locks
}

const leakStack = `
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
  alone:
    image: busybox
    command: ["sleep", "1000"]
    network_mode: none
`

// TestLeakRunDirAndLocks: the product, not the test harness, removes what
// a state root keeps under /run/compose/<hash> once its last project is
// down (no container, no network left), and a project's lock file once
// the project is gone; a command on an empty root leaves neither behind.
func TestLeakRunDirAndLocks(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(leakStack), 0o644); err != nil {
		t.Fatal(err)
	}
	projects := []string{"leaka", "leakb"}
	for _, p := range projects {
		t.Cleanup(func() { c.run("-p", p, "down", "-t", "0") })
		c.must("-p", p, "up", "-d")
	}
	if c.runDirLeftovers() == "" {
		t.Fatalf("no runtime dir %s while two projects run", engine.RunDir(c.root))
	}
	c.must("-p", projects[0], "down", "-t", "0")
	if _, err := os.Stat(filepath.Join(c.root, "locks", projects[0]+".lock")); err == nil {
		t.Errorf("the lock file of %s is left after its down", projects[0])
	}
	if c.runDirLeftovers() == "" {
		t.Fatalf("runtime dir removed while %s still runs", projects[1])
	}
	if r := c.must("-p", projects[1], "exec", "web", "nslookup", "web"); !strings.Contains(r.stdout, "Address") {
		t.Errorf("%s's DNS after %s went down: %s", projects[1], projects[0], r)
	}
	c.must("-p", projects[1], "down", "-t", "0")
	if !waitFor(10*time.Second, func() bool { return c.runDirLeftovers() == "" }) {
		t.Errorf("runtime dir left after the last down: %s", c.runDirLeftovers())
	}
	if locks := c.lockFiles(); len(locks) > 0 {
		t.Errorf("lock files left: %v", locks)
	}
	// Commands on an empty root leave nothing either.
	c.must("-p", "leakc", "ps")
	c.must("ls")
	if left := c.runDirLeftovers(); left != "" {
		t.Errorf("ps and ls on an empty root left %s", left)
	}
	if locks := c.lockFiles(); len(locks) > 0 {
		t.Errorf("ps left lock files: %v", locks)
	}
}

// waitFor polls cond until it holds or d has passed (testutil.Eventually,
// for a caller that reports the failure itself).
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
