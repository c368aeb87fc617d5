package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
	"github.com/composer-dev/compose/networks"
)

// portsStack serves "hello-<port>" over HTTP on 80 and 81; the client only
// idles, for hairpin requests through the host address.
const portsStack = `
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /a /b && echo hello-80 > /a/index.html && echo hello-81 > /b/index.html && httpd -p 81 -h /b && exec httpd -f -p 80 -h /a"]
    ports:
      - "%d:80"
      - "127.0.0.1:%d-%d:81"
      - target: 80
        protocol: tcp
        mode: host
        app_protocol: http
  client:
    image: busybox
    command: ["sleep", "1000"]
    networks: [other]
networks:
  other: {}
`

func freeTCPPort(t *testing.T) int {
	t.Helper()
	return reservePorts(t, 1)
}

// Fixed host ports for tests come from the 10000 ports below the kernel's
// ephemeral range, where neither the kernel (bind to port 0, outgoing
// connections) nor compose (ephemeral published ports) hands out ports:
// only tests that reserved them use them. A reservation is a flock on a
// file per port, shared with the tests of other packages and worktrees
// running at the same time, held until the test ends.
const testPortsDir = "/tmp/compose-e2e-ports"

// testPorts is the block reservePorts takes ports from.
func testPorts(t *testing.T) (first, last int) {
	t.Helper()
	low := 32768 // Linux's default ephemeral range starts here
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	if low <= 11024 {
		t.Skipf("the ephemeral port range starts at %d: no room for fixed test ports", low)
	}
	return low - 10000, low - 1
}

// reservePorts returns the first of n consecutive free host ports (TCP and
// UDP) that no other test can take before this one ends.
func reservePorts(t *testing.T, n int) int {
	t.Helper()
	if err := os.MkdirAll(testPortsDir, 0o777); err != nil {
		t.Fatal(err)
	}
	lo, hi := testPorts(t)
	span := hi - lo + 1 - n
	start := int(time.Now().UnixNano() % int64(span))
	for i := 0; i < span; i++ {
		first := lo + (start+i)%span
		if locks, ok := lockPorts(first, n); ok {
			t.Cleanup(func() {
				for _, f := range locks {
					f.Close()
				}
			})
			return first
		}
	}
	t.Fatalf("no %d free test ports in %d-%d", n, lo, hi)
	return 0
}

// lockPorts takes the flocks of ports first..first+n-1 and checks nothing
// is bound there; all or none.
func lockPorts(first, n int) ([]*os.File, bool) {
	var locks []*os.File
	release := func() {
		for _, f := range locks {
			f.Close()
		}
	}
	for p := first; p < first+n; p++ {
		f, err := os.OpenFile(filepath.Join(testPortsDir, strconv.Itoa(p)), os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			release()
			return nil, false
		}
		locks = append(locks, f)
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || !portFree(p) {
			release()
			return nil, false
		}
	}
	return locks, true
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", ":"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// hostIPv4 is a non-loopback address of the host outside our bridges.
func hostIPv4(t *testing.T) string {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "br-") || strings.HasPrefix(i.Name, "veth") || strings.HasPrefix(i.Name, "docker") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address on the host")
	return ""
}

func httpGet(addr string) (string, error) {
	cl := http.Client{Timeout: 3 * time.Second}
	resp, err := cl.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

func projectCLI(t *testing.T, prefix, yaml string) *cli {
	c := newCLI(t)
	c.loadBusybox()
	c.dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	c.env = append(c.env, "COMPOSE_PROJECT_NAME="+prefix+hex.EncodeToString(b))
	t.Cleanup(func() { c.run("down", "-t", "0") })
	return c
}

func TestPublishedPorts(t *testing.T) {
	testutil.RequiresRoot(t)
	host := hostIPv4(t)
	hp, r1 := reservePorts(t, 1), reservePorts(t, 13)
	c := projectCLI(t, "ports", fmt.Sprintf(portsStack, hp, r1, r1+2))
	c.must("up", "-d")

	if got := strings.TrimSpace(c.must("port", "web", "80").stdout); got != fmt.Sprintf("0.0.0.0:%d", hp) {
		t.Fatalf("port web 80 = %q", got)
	}
	if r := c.run("port", "web", "9999"); r.code == 0 {
		t.Fatalf("port of an unpublished port succeeded: %s", r)
	}
	want := map[string]string{
		fmt.Sprintf("127.0.0.1:%d", hp):        "hello-80",
		net.JoinHostPort(host, fmt.Sprint(hp)): "hello-80",
	}
	ps := c.must("ps", "--format", "json").stdout
	var entry struct {
		Service    string
		Ports      string
		Publishers []struct {
			URL           string
			TargetPort    int
			PublishedPort int
			Protocol      string
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(ps), "\n") {
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("ps json: %v\n%s", err, ps)
		}
		if entry.Service == "web" {
			break
		}
	}
	if len(entry.Publishers) != 3 || !strings.Contains(entry.Ports, fmt.Sprintf("0.0.0.0:%d->80/tcp", hp)) {
		t.Fatalf("ps web: %+v", entry)
	}
	for _, p := range entry.Publishers {
		switch {
		case p.TargetPort == 81:
			if p.URL != "127.0.0.1" || p.PublishedPort < r1 || p.PublishedPort > r1+2 {
				t.Errorf("range publisher %+v", p)
			}
			want[fmt.Sprintf("127.0.0.1:%d", p.PublishedPort)] = "hello-81"
		case p.PublishedPort != hp: // the ephemeral one
			want[fmt.Sprintf("127.0.0.1:%d", p.PublishedPort)] = "hello-80"
		}
	}
	for addr, body := range want {
		var got string
		var err error
		testutil.Eventually(t, 10*time.Second, "GET "+addr, func() bool {
			got, err = httpGet(addr)
			return err == nil
		})
		if got != body {
			t.Errorf("GET %s = %q, want %q", addr, got, body)
		}
	}
	if !strings.Contains(c.must("ps").stdout, fmt.Sprintf("0.0.0.0:%d->80/tcp", hp)) {
		t.Errorf("ps table lacks the port")
	}
	// Hairpin from a container on another network, through the host address.
	got := c.must("exec", "client", "wget", "-qO-", fmt.Sprintf("http://%s:%d/", host, hp)).stdout
	if strings.TrimSpace(got) != "hello-80" {
		t.Errorf("hairpin: %q", got)
	}

	// `run -p` publishes; without --service-ports the service's own do not.
	rp := freeTCPPort(t)
	c.must("run", "-d", "-p", fmt.Sprintf("127.0.0.1:%d:80", rp), "web")
	testutil.Eventually(t, 10*time.Second, "run -p", func() bool { b, err := httpGet(fmt.Sprintf("127.0.0.1:%d", rp)); return err == nil && b == "hello-80" })

	// A second project asking for the same host port fails before creating anything.
	d := projectCLI(t, "portsb", fmt.Sprintf(portsStack, hp, r1, r1+2))
	r := d.run("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, "port is already allocated") {
		t.Fatalf("conflicting up: %s", r)
	}
	if len(d.ps()) != 0 || len(d.networks()) != 0 {
		t.Fatalf("conflicting up created something: %v %v", d.ps(), d.networks())
	}
	// So does a port bound by another program.
	ln, err := net.Listen("tcp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	e := projectCLI(t, "portsc", fmt.Sprintf(portsStack, busy, r1+10, r1+12))
	if r := e.run("up", "-d"); r.code == 0 || !strings.Contains(r.stderr, strconv.Itoa(busy)) {
		t.Fatalf("up on a bound port: %s", r)
	}

	ids := map[string]bool{}
	for _, p := range c.ps() {
		ids[p.ID[:12]] = true
	}
	c.must("down", "-t", "0")
	published, err := networks.PublishedPorts()
	if err != nil {
		t.Fatal(err)
	}
	for m, id := range published {
		if ids[id] {
			t.Errorf("port %s still published after down", m.Key())
		}
	}
}

const dnsOptionsStack = `
services:
  app:
    image: busybox
    command: ["sh", "-c", "cat /etc/hosts /etc/resolv.conf; sleep 1000"]
    extra_hosts:
      - "somehost=10.1.2.3"
      - "host.docker.internal:host-gateway"
    dns: [10.9.9.9]
    dns_search: [example.test]
    dns_opt: [timeout:2]
`

func TestExtraHostsAndDNSOptions(t *testing.T) {
	testutil.RequiresRoot(t)
	c := projectCLI(t, "dnsopts", dnsOptionsStack)
	c.must("up", "-d")
	gw := c.networks()[0].Gateway
	var out string
	testutil.Eventually(t, 10*time.Second, "app output", func() bool {
		out = c.must("logs", "--no-log-prefix", "app").stdout
		return strings.Contains(out, "options")
	})
	// Docker's embedded DNS address, whatever the network (the gateway serves it).
	for _, want := range []string{"10.1.2.3\tsomehost", gw + "\thost.docker.internal", "nameserver 127.0.0.11\nsearch example.test", "options ndots:0 timeout:2"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
