package e2e

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// repairStack publishes a port from a service that restarts always, has
// one that restarts unless stopped (with a tmpfs volume, which a reboot
// empties and unmounts), one the user stops, one without a policy.
const repairStack = `
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hello-web > /index.html && exec httpd -f -p 80 -h /"]
    ports: ["%d:80"]
    restart: always
    stop_signal: SIGKILL
  worker:
    image: busybox
    command: ["sleep", "1000"]
    restart: unless-stopped
    depends_on: [web]
    volumes: ["cache:/cache"]
    stop_signal: SIGKILL
  stopped:
    image: busybox
    command: ["sleep", "1000"]
    restart: unless-stopped
    stop_signal: SIGKILL
  plain:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
volumes:
  cache:
    driver_opts: {type: tmpfs, device: tmpfs}
networks:
  default:
    ipam:
      config: [{subnet: "%s"}]
`

// newRepairProject is newProject of repairStack, whose volumes go too at
// the end (the tmpfs volume is a mount). Its subnet is outside the default
// pool: between the simulated reboot and the repair, another test's
// network (another state root) would take a pool subnet freed by the
// "reboot" of this root alone, which a real reboot never lets happen.
func newRepairProject(t *testing.T, port int) *cli {
	t.Helper()
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	subnet := fmt.Sprintf("10.%d.%d.0/24", 100+int(b[0])%50, b[1])
	c := newProject(t, fmt.Sprintf(repairStack, port, subnet))
	t.Cleanup(func() { c.run("down", "-v", "-t", "0") })
	return c
}

// assertTmpfsCache checks that the worker's tmpfs volume is a tmpfs.
func (c *cli) assertTmpfsCache() {
	c.t.Helper()
	if out := c.must("exec", "-T", "worker", "grep", " /cache ", "/proc/mounts").stdout; !strings.Contains(out, " tmpfs ") {
		c.t.Errorf("the worker's tmpfs volume is not a tmpfs: %q", out)
	}
}

// containerState is the part of a container's state.json the tests read.
type containerState struct {
	Status          string
	Pid             int
	SupervisorPid   int
	SupervisorStart uint64
}

func (c *cli) containerState(id string) containerState {
	c.t.Helper()
	var st containerState
	b, err := os.ReadFile(filepath.Join(c.root, "containers", id, "state.json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		c.t.Fatalf("state of %s: %v", id, err)
	}
	return st
}

// killSupervisor kills the supervisor of the container id with SIGKILL and
// waits until it is gone (reaped, or a zombie: dead either way).
func (c *cli) killSupervisor(id string) {
	c.t.Helper()
	pid := c.containerState(id).SupervisorPid
	if pid <= 1 {
		c.t.Fatalf("container %s has no supervisor", id)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), filepath.Join(c.root, "containers", id)) {
		c.t.Fatalf("pid %d is not the supervisor of %s: %q", pid, id, cmdline)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	testutil.Eventually(c.t, 10*time.Second, "the killed supervisor to be gone", func() bool { return !processAlive(pid) })
}

// processAlive reports whether pid runs (a zombie does not).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// leftovers lists what a run of the container id holds on the host: its
// rootfs mounts, network namespace, libcontainer state, cgroups, published
// ports' table and endpoints in the network records.
func (c *cli) leftovers(id string) []string {
	c.t.Helper()
	runDir := engine.RunDir(c.root)
	var out []string
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (strings.HasPrefix(f[4], filepath.Join(c.root, "containers", id)+"/") ||
			f[4] == filepath.Join(runDir, "netns", id[:12])) {
			out = append(out, "mount "+f[4])
		}
	}
	for _, p := range []string{filepath.Join(runDir, "netns", id[:12]), filepath.Join(runDir, "runc", id)} {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	for _, pattern := range []string{"/sys/fs/cgroup/*/compose/" + id, "/sys/fs/cgroup/compose/" + id} {
		left, _ := filepath.Glob(pattern)
		out = append(out, left...)
	}
	if conn, err := nftables.New(); err == nil {
		if _, err := conn.ListTableOfFamily("compose-ports-"+id[:12], nftables.TableFamilyIPv4); err == nil {
			out = append(out, "nftables table compose-ports-"+id[:12])
		}
	}
	for _, n := range c.networks() {
		for _, ep := range n.Endpoints {
			if ep.ContainerID == id {
				out = append(out, "endpoint on "+n.Name)
			}
		}
	}
	return out
}

// waitServes waits until the host port answers with want.
func waitServes(t *testing.T, port int, want string) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	testutil.Eventually(t, 20*time.Second, addr+" to serve "+want, func() bool {
		got, err := httpGet(addr)
		return err == nil && got == want
	})
}

func (c *cli) stateByService() map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, e := range c.ps() {
		out[e.Service] = e.State
	}
	return out
}

// TestKilledSupervisorRepaired: after kill -9 of a supervisor, `ps` shows
// the container exited at once (an `exec -d` process in it included), the
// next command that touches the project removes what the run left
// (mounts, netns, endpoint, published port, cgroup, libcontainer state),
// and `up -d` brings the service back in one run.
func TestKilledSupervisorRepaired(t *testing.T) {
	t.Parallel()
	port := freeTCPPort(t)
	c := newRepairProject(t, port)
	c.must("up", "-d", "web", "worker")
	waitServes(t, port, "hello-web")
	web := c.idOf("web")
	c.must("exec", "-d", "web", "sleep", "1000")

	c.killSupervisor(web)
	start := time.Now()
	if st := c.stateOf("web"); st != "exited" {
		t.Fatalf("ps right after the kill: web is %q, want exited", st)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ps took %s", d)
	}

	// Any command that changes the project cleans up: here stop.
	c.must("stop", "worker")
	if left := c.leftovers(web); len(left) > 0 {
		t.Fatalf("left by the killed run after `stop`: %v", left)
	}
	c.must("up", "-d", "web", "worker")
	waitServes(t, port, "hello-web")

	// The report: up -d right after the kill.
	c.killSupervisor(c.idOf("web"))
	if r := c.run("up", "-d", "web"); r.code != 0 {
		t.Fatalf("up -d after a killed supervisor: %s", r)
	}
	if st := c.stateOf("web"); st != "running" {
		t.Fatalf("web is %q after up -d", st)
	}
	waitServes(t, port, "hello-web")
	if n := len(c.leftovers(web)); n == 0 {
		t.Fatal("the running container holds nothing: the leftovers check sees nothing")
	}

	// start as well.
	c.killSupervisor(web)
	c.must("start", "web")
	waitServes(t, port, "hello-web")

	snap := c.snapshot(c.ps())
	c.must("down", "-v", "-t", "0") // -v: the tmpfs volume's mount goes too
	c.assertClean(snap)
}

// simulateReboot does to c's state root what a host reboot does: all its
// processes end (supervisors, containers, exec helpers, the DNS server),
// its mounts, bridges, veths, network namespaces, nftables tables and
// cgroups go, and its runtime dir under /run is wiped. The state on disk
// stays as the processes left it.
func (c *cli) simulateReboot() {
	c.t.Helper()
	runDir := engine.RunDir(c.root)
	ents, err := os.ReadDir(filepath.Join(c.root, "containers"))
	if err != nil {
		c.t.Fatal(err)
	}
	var ids []string
	for _, e := range ents {
		ids = append(ids, e.Name())
	}
	// The supervisors first, so none of them sees its container die.
	for _, p := range append(processesMentioning(c.root), processesMentioning(runDir)...) {
		if pid, err := strconv.Atoi(strings.Split(p, "/")[2]); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, id := range ids {
		for _, procs := range cgroupProcFiles(id) {
			b, _ := os.ReadFile(procs)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	testutil.Eventually(c.t, 20*time.Second, "the root's processes to end", func() bool {
		if len(processesMentioning(c.root)) > 0 || len(processesMentioning(runDir)) > 0 {
			return false
		}
		for _, id := range ids {
			for _, procs := range cgroupProcFiles(id) {
				if b, _ := os.ReadFile(procs); len(strings.TrimSpace(string(b))) > 0 {
					return false
				}
			}
		}
		return true
	})
	for _, id := range ids {
		for _, procs := range cgroupProcFiles(id) {
			_ = os.Remove(filepath.Dir(procs))
		}
	}
	// Mounts, deepest first.
	var points []string
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (strings.HasPrefix(f[4], c.root+"/") || strings.HasPrefix(f[4], runDir+"/")) {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			c.t.Fatalf("unmount %s: %v", p, err)
		}
	}
	// Links and tables.
	conn, err := nftables.New()
	if err != nil {
		c.t.Fatal(err)
	}
	for _, n := range c.networks() {
		for _, ep := range n.Endpoints {
			if l, err := netlink.LinkByName(ep.HostIface); err == nil {
				_ = netlink.LinkDel(l)
			}
		}
		if l, err := netlink.LinkByName(n.Bridge); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				c.t.Fatalf("delete bridge %s: %v", n.Bridge, err)
			}
		}
		for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
			if tb, err := conn.ListTableOfFamily("compose-"+n.Bridge, fam); err == nil {
				conn.DelTable(tb)
			}
		}
	}
	for _, id := range ids {
		if tb, err := conn.ListTableOfFamily("compose-ports-"+id[:12], nftables.TableFamilyIPv4); err == nil {
			conn.DelTable(tb)
		}
	}
	if err := conn.Flush(); err != nil {
		c.t.Fatalf("nftables: %v", err)
	}
	if err := os.RemoveAll(runDir); err != nil {
		c.t.Fatal(err)
	}
}

// cgroupProcFiles lists the cgroup.procs files of the container id's
// cgroups (one per v1 hierarchy, or the unified one).
func cgroupProcFiles(id string) []string {
	var out []string
	for _, pattern := range []string{"/sys/fs/cgroup/*/compose/" + id + "/cgroup.procs", "/sys/fs/cgroup/compose/" + id + "/cgroup.procs"} {
		m, _ := filepath.Glob(pattern)
		out = append(out, m...)
	}
	return out
}

// TestRebootUp: after a host reboot, one `up -d` repairs every service
// (stale endpoints, ports, namespaces) and the stack works again.
func TestRebootUp(t *testing.T) {
	t.Parallel()
	port := freeTCPPort(t)
	c := newRepairProject(t, port)
	c.must("up", "-d")
	waitServes(t, port, "hello-web")
	ids := map[string]string{}
	for _, e := range c.ps() {
		ids[e.Service] = e.ID
	}
	c.simulateReboot()

	for svc, st := range c.stateByService() {
		if st != "exited" {
			t.Errorf("after the reboot %s is %q, want exited", svc, st)
		}
	}
	if r := c.run("up", "-d"); r.code != 0 {
		t.Fatalf("up -d after a reboot: %s", r)
	}
	for svc, st := range c.stateByService() {
		if st != "running" {
			t.Errorf("after up -d %s is %q", svc, st)
		}
	}
	for svc, id := range ids {
		if c.idOf(svc) != id {
			t.Errorf("%s was recreated rather than started", svc)
		}
	}
	waitServes(t, port, "hello-web")
	if out := c.must("exec", "-T", "worker", "wget", "-q", "-O", "-", "http://web/").stdout; strings.TrimSpace(out) != "hello-web" {
		t.Errorf("worker fetched %q from web", out)
	}
	c.assertTmpfsCache()
	snap := c.snapshot(c.ps())
	c.must("down", "-v", "-t", "0") // -v: the tmpfs volume's mount goes too
	c.assertClean(snap)
}

// TestResumeAfterReboot: `system resume` (what the boot unit runs) starts
// the containers whose policy says they run, always and unless-stopped,
// except those the user stopped, without the compose files.
func TestResumeAfterReboot(t *testing.T) {
	t.Parallel()
	port := freeTCPPort(t)
	c := newRepairProject(t, port)
	c.must("up", "-d")
	waitServes(t, port, "hello-web")
	c.must("stop", "stopped")
	// A container that died on its own is not "stopped by the user".
	c.killSupervisor(c.idOf("worker"))
	c.simulateReboot()

	boot := *c
	boot.dir = t.TempDir() // no compose file: the boot has only the root
	boot.env = []string{"COMPOSE_ROOT=" + c.root}
	r := boot.must("system", "resume")
	want := map[string]string{"web": "running", "worker": "running", "stopped": "exited", "plain": "exited"}
	if got := c.stateByService(); !maps.Equal(got, want) {
		t.Fatalf("after system resume: %v, want %v\n%s", got, want, r)
	}
	waitServes(t, port, "hello-web")
	if out := c.must("exec", "-T", "worker", "wget", "-q", "-O", "-", "http://web/").stdout; strings.TrimSpace(out) != "hello-web" {
		t.Errorf("worker fetched %q from web", out)
	}
	c.assertTmpfsCache()
	// Resuming again changes nothing.
	boot.must("system", "resume")
	if got := c.stateByService(); !maps.Equal(got, want) {
		t.Fatalf("after a second resume: %v, want %v", got, want)
	}
	// The user's start clears the stop: the next boot resumes it.
	c.must("start", "stopped")
	c.simulateReboot()
	boot.must("system", "resume")
	want["stopped"] = "running"
	if got := c.stateByService(); !maps.Equal(got, want) {
		t.Fatalf("after a start and another reboot: %v, want %v", got, want)
	}
	snap := c.snapshot(c.ps())
	c.must("down", "-v", "-t", "0") // -v: the tmpfs volume's mount goes too
	c.assertClean(snap)
}

// TestResumeBootUnit: install-boot writes an enabled oneshot unit that runs
// `system resume` for the root; uninstall-boot removes both.
func TestResumeBootUnit(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	unitDir := t.TempDir()
	c.env = append(c.env, "COMPOSE_SYSTEMD_UNIT_DIR="+unitDir)
	r := c.must("system", "install-boot")
	units, _ := filepath.Glob(filepath.Join(unitDir, "*.service"))
	if len(units) != 1 {
		t.Fatalf("install-boot wrote %v\n%s", units, r)
	}
	unit := units[0]
	name := filepath.Base(unit)
	if !strings.HasPrefix(name, "compose") {
		t.Errorf("unit name %s", name)
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	sections := parseUnit(t, string(b))
	for _, want := range []struct{ section, key, value string }{
		{"Unit", "After", "network-online.target"},
		{"Unit", "Wants", "network-online.target"},
		{"Service", "Type", "oneshot"},
		{"Service", "ExecStart", binary + " --root " + c.root + " system resume"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := sections[want.section][want.key]; !slices.Contains(got, want.value) {
			t.Errorf("[%s] %s = %q, want %q\n%s", want.section, want.key, got, want.value, b)
		}
	}
	// systemd's own check, where systemd is installed: no complaint at all.
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		cmd := exec.CommandContext(t.Context(), analyze, "verify", unit)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
	link := filepath.Join(unitDir, "multi-user.target.wants", name)
	if target, err := os.Readlink(link); err != nil || target != unit {
		t.Errorf("wants link %s -> %q (%v), want %s", link, target, err, unit)
	}
	// Installing again is not an error and changes nothing.
	c.must("system", "install-boot")
	if again, _ := os.ReadFile(unit); string(again) != string(b) {
		t.Errorf("a second install-boot changed the unit:\n%s", again)
	}

	c.must("system", "uninstall-boot")
	for _, p := range []string{unit, link} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after uninstall-boot: %v", p, err)
		}
	}
	c.must("system", "uninstall-boot") // nothing to remove: fine
}

// parseUnit reads a systemd unit file: section -> key -> values. It fails
// on a line that is neither a section, a key=value, a comment nor blank.
func parseUnit(t *testing.T, text string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("unit line %d: %q", i+1, line)
			}
			out[section][strings.TrimSpace(k)] = append(out[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return out
}

// TestDownAfterFullDisk: a `down` that fails half way (the state root's
// disk is full) can be finished, once there is room again, by `down`,
// `network rm` or `network prune`: nothing is left behind.
func TestDownAfterFullDisk(t *testing.T) {
	t.Parallel()
	for _, finish := range []string{"down", "network rm", "network prune"} {
		t.Run(strings.ReplaceAll(finish, " ", "_"), func(t *testing.T) {
			t.Parallel()
			testutil.RequiresRoot(t)
			disk := filepath.Join(t.TempDir(), "disk")
			if err := os.Mkdir(disk, 0o755); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(disk, "root")
			c := &cli{t: t, root: root, env: []string{"COMPOSE_ROOT=" + root}}
			t.Cleanup(func() { os.RemoveAll(engine.RunDir(root)) })
			if err := unix.Mount("tmpfs", disk, "tmpfs", 0, "size=40m,mode=0755"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = unix.Unmount(disk, unix.MNT_DETACH) })
			c.loadBusybox()
			c.dir = t.TempDir()
			port := freeTCPPort(t)
			yaml := fmt.Sprintf("services:\n  web:\n    image: busybox\n    command: [httpd, -f, -p, \"80\"]\n    ports: [\"%d:80\"]\n    stop_signal: SIGKILL\n  db:\n    image: busybox\n    command: [sleep, \"1000\"]\n    stop_signal: SIGKILL\n", port)
			if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c.env = append(c.env, "COMPOSE_PROJECT_NAME=full"+strconv.Itoa(os.Getpid())+strings.ReplaceAll(finish, " ", ""))
			t.Cleanup(func() { c.run("down", "-t", "0") })
			c.must("up", "-d")
			snap := c.snapshot(c.ps())
			network := c.project() + "_default"

			filler := filepath.Join(c.root, "filler")
			fillDisk(t, filler)
			r := c.run("down", "-t", "0")
			t.Logf("down on a full disk: %s", r)
			if r.code == 0 {
				if nets := c.networks(); len(nets) > 0 {
					t.Fatalf("down on a full disk succeeded but left %+v:\n%s", nets, r)
				}
			} else if !strings.Contains(r.stderr, "no space left on device") {
				t.Errorf("down on a full disk does not name the cause:\n%s", r)
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}

			switch finish {
			case "down":
			case "network rm":
				if len(c.networks()) > 0 {
					c.must("network", "rm", network)
				}
			case "network prune":
				c.must("network", "prune", "-f")
				if nets := c.networks(); len(nets) > 0 {
					t.Fatalf("network prune left %+v", nets)
				}
			}
			if r := c.run("down", "-t", "0"); r.code != 0 {
				t.Fatalf("down once there is room: %s", r)
			}
			c.assertClean(snap)
		})
	}
}

// fillDisk writes path until its filesystem is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// What is left is smaller than a block of the buffer: fill it too.
	for {
		if _, err := f.Write(buf[:4096]); err != nil {
			return
		}
	}
}
