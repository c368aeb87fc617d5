package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
// cgroups, nftables tables.
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
