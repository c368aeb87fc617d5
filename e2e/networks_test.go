package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// networksStack exercises network options: ipam config, a custom bridge
// name and MTU, internal, static addresses, aliases and every network_mode.
const networksStack = `
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hi > /index.html && exec httpd -f -p 80 -h /"]
    networks:
      front:
        ipv4_address: %[1]s.10
        aliases: [www]
        mac_address: "02:42:de:ad:be:ef"
      back: {}
  auto:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front]
  inner:
    image: busybox
    command: ["sleep", "1000"]
    networks: [back]
  sidecar:
    image: busybox
    command: ["sleep", "1000"]
    network_mode: service:web
    depends_on: [web]
  hostnet:
    image: busybox
    command: ["sleep", "1000"]
    network_mode: host
  nonet:
    image: busybox
    command: ["sleep", "1000"]
    network_mode: none
networks:
  front:
    driver: bridge
    driver_opts:
      com.docker.network.bridge.name: %[2]s
      com.docker.network.driver.mtu: "1400"
    labels: {tier: front}
    ipam:
      config:
        - subnet: %[1]s.0/24
          ip_range: %[1]s.128/25
          gateway: %[1]s.254
          aux_addresses: {reserved: %[1]s.128}
  back:
    internal: true
`

func TestNetworkOptions(t *testing.T) {
	testutil.RequiresRoot(t)
	host := hostIPv4(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := fmt.Sprintf("10.%d.%d", 200+int(b[0])%50, b[1])
	bridge := "cbr" + hex.EncodeToString(b)
	c := projectCLI(t, "nets", fmt.Sprintf(networksStack, prefix, bridge))
	c.must("up", "-d")

	iface, err := net.InterfaceByName(bridge)
	if err != nil || iface.MTU != 1400 {
		t.Fatalf("bridge %s: %+v %v", bridge, iface, err)
	}
	all, _ := iface.Addrs()
	var addrs []net.Addr
	for _, a := range all {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) != 1 || addrs[0].String() != prefix+".254/24" {
		t.Errorf("bridge addresses %v, want gateway %s.254/24", addrs, prefix)
	}
	out := c.must("exec", "web", "ip", "addr").stdout
	if !strings.Contains(out, "inet "+prefix+".10/24") || !strings.Contains(out, "02:42:de:ad:be:ef") {
		t.Errorf("web addresses:\n%s", out)
	}
	// ip_range starts at .128, which is reserved as an aux address.
	if out := c.must("exec", "auto", "ip", "addr").stdout; !strings.Contains(out, "inet "+prefix+".129/24") {
		t.Errorf("auto addresses (want .129):\n%s", out)
	}
	if got := c.must("exec", "auto", "wget", "-qO-", "http://www/").stdout; strings.TrimSpace(got) != "hi" {
		t.Errorf("alias www: %q", got)
	}
	// internal: the service name resolves and answers, but nothing leaves.
	if got := c.must("exec", "inner", "wget", "-qO-", "http://web/").stdout; strings.TrimSpace(got) != "hi" {
		t.Errorf("inner to web: %q", got)
	}
	if out := c.must("exec", "inner", "ip", "route").stdout; strings.Contains(out, "default") {
		t.Errorf("internal network has a default route:\n%s", out)
	}
	ln, err := net.Listen("tcp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(conn, "outside")
			conn.Close()
		}
	}()
	// nc, not wget: busybox-static's wget can crash, which would pass this
	// check without testing anything. auto (front is not internal) is the control.
	reach := func(service string) bool {
		r := c.run("exec", service, "nc", "-w", "2", host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		return strings.Contains(r.stdout, "outside")
	}
	if !reach("auto") {
		t.Errorf("auto (not internal) does not reach the host at %s", host)
	}
	if reach("inner") {
		t.Errorf("internal container reached the host at %s", host)
	}
	// network_mode: service:web shares web's namespace; host the host's; none only lo.
	if got := c.must("exec", "sidecar", "wget", "-qO-", "http://127.0.0.1/").stdout; strings.TrimSpace(got) != "hi" {
		t.Errorf("sidecar via 127.0.0.1: %q", got)
	}
	if out := c.must("exec", "hostnet", "ls", "/sys/class/net").stdout; !strings.Contains(out, bridge) {
		t.Errorf("host network does not show %s:\n%s", bridge, out)
	}
	if out := strings.Fields(c.must("exec", "nonet", "ls", "/sys/class/net").stdout); len(out) != 1 || out[0] != "lo" {
		t.Errorf("network_mode none: %v", out)
	}

	// Another project joins front as an external network and resolves www;
	// down of the first project keeps the network while it is in use.
	full := c.networks()[0].Name
	for _, n := range c.networks() {
		if strings.HasSuffix(n.Name, "_front") {
			full = n.Name
		}
	}
	d := projectCLI(t, "netx", fmt.Sprintf(`
services:
  guest:
    image: busybox
    command: ["sleep", "1000"]
    networks: [shared]
networks:
  shared:
    name: %s
    external: true
`, full))
	d.root = c.root
	d.env[0] = c.env[0]
	d.must("up", "-d")
	if got := d.must("exec", "guest", "wget", "-qO-", "http://www/").stdout; strings.TrimSpace(got) != "hi" {
		t.Errorf("guest on external network: %q", got)
	}
	c.must("down", "-t", "0")
	found := false
	for _, n := range c.networks() {
		found = found || n.Name == full
	}
	if !found {
		t.Fatalf("down removed %s while another project uses it", full)
	}
	d.must("down", "-t", "0")

	missing := projectCLI(t, "netm", `
services:
  a:
    image: busybox
    command: ["true"]
    networks: [gone]
networks:
  gone:
    name: no-such-network-here
    external: true
`)
	r := missing.run("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, "no-such-network-here declared as external, but could not be found") {
		t.Fatalf("missing external network: %s", r)
	}
	testutil.Eventually(t, 5*time.Second, "nothing left", func() bool { return len(missing.ps()) == 0 })
}

func TestNetworkOptionErrors(t *testing.T) {
	testutil.RequiresRoot(t)
	for name, yaml := range map[string]string{
		"driver":   "networks:\n  n:\n    driver: overlay\n",
		"ipv6":     "networks:\n  n:\n    ipam:\n      config:\n        - subnet: fd00:1234::/64\n",
		"gateway":  "networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.99.0.0/24\n          gateway: 10.98.0.1\n",
		"bad mode": "",
	} {
		t.Run(name, func(t *testing.T) {
			svc := "services:\n  a:\n    image: busybox\n    command: [\"true\"]\n    networks: [n]\n"
			if name == "bad mode" {
				svc = "services:\n  a:\n    image: busybox\n    command: [\"true\"]\n    network_mode: bogus\n"
			}
			c := projectCLI(t, "neterr", svc+yaml)
			r := c.run("up", "-d")
			if r.code == 0 || len(c.networks()) != 0 || len(c.ps()) != 0 {
				t.Fatalf("up: %s", r)
			}
			if strings.Contains(r.stderr, "\n") && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("error is not one line: %q", r.stderr)
			}
		})
	}
}

func TestNetworkCommands(t *testing.T) {
	testutil.RequiresRoot(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "ext" + hex.EncodeToString(b)
	subnet := fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, b[1])
	c := projectCLI(t, "netcmd", fmt.Sprintf(`
services:
  a:
    image: busybox
    command: ["sleep", "1000"]
    networks: [ext]
networks:
  ext:
    name: %s
    external: true
`, name))
	t.Cleanup(func() { c.run("network", "rm", name) })
	id := strings.TrimSpace(c.must("network", "create", "--subnet", subnet, "--label", "k=v", "--internal", name).stdout)
	if len(id) != 64 {
		t.Fatalf("network create printed %q", id)
	}
	if r := c.run("network", "create", name); r.code == 0 {
		t.Fatalf("second create succeeded: %s", r)
	}
	ls := c.must("network", "ls").stdout
	if !strings.HasPrefix(ls, "NETWORK ID") || !strings.Contains(ls, id[:12]) || !strings.Contains(ls, name) {
		t.Fatalf("network ls:\n%s", ls)
	}
	c.must("up", "-d")
	var docs []struct {
		Name, Id, Driver string
		Internal         bool
		Labels           map[string]string
		IPAM             struct {
			Config []struct{ Subnet, Gateway string }
		}
		Containers map[string]struct{ Name, IPv4Address string }
	}
	if err := json.Unmarshal([]byte(c.must("network", "inspect", name).stdout), &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Id != id || docs[0].Driver != "bridge" || !docs[0].Internal || docs[0].Labels["k"] != "v" ||
		len(docs[0].IPAM.Config) != 1 || docs[0].IPAM.Config[0].Subnet != subnet || len(docs[0].Containers) != 1 {
		t.Fatalf("inspect: %+v", docs)
	}
	if r := c.run("network", "rm", name); r.code == 0 {
		t.Fatalf("rm of a network in use succeeded: %s", r)
	}
	c.must("down", "-t", "0")
	if out := c.must("network", "ls", "-q").stdout; !strings.Contains(out, id[:12]) {
		t.Fatalf("down removed the external network: %s", out)
	}
	if out := c.must("network", "prune", "-f").stdout; !strings.Contains(out, "Deleted Networks:\n"+name) {
		t.Fatalf("prune: %s", out)
	}
	if out := strings.TrimSpace(c.must("network", "ls", "-q").stdout); out != "" {
		t.Fatalf("networks left after prune: %s", out)
	}
	if r := c.run("network", "inspect", name); r.code == 0 {
		t.Fatalf("inspect of a removed network: %s", r)
	}
}

const dnsStack = `
services:
  app:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front, back]
    links: ["db:database"]
  db:
    image: busybox
    command: ["sleep", "1000"]
    networks: [back]
  lone:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front]
  web:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front]
    scale: 2
networks:
  front: {}
  back: {}
`

func TestDNSAcrossNetworks(t *testing.T) {
	testutil.RequiresRoot(t)
	c := projectCLI(t, "dns", dnsStack)
	c.must("up", "-d")
	resolves := func(service, name string) bool {
		return c.run("exec", service, "nslookup", name).code == 0
	}
	if !resolves("app", "db") || !resolves("app", "database") || !resolves("app", "lone") {
		t.Errorf("app (front+back) does not resolve db, its link alias or lone")
	}
	if resolves("lone", "db") || resolves("lone", "database") {
		t.Errorf("lone (front only) resolves a name of back")
	}
	out := c.must("exec", "lone", "nslookup", "web").stdout
	if strings.Count(out, "Address:") < 2 {
		t.Errorf("web replicas:\n%s", out)
	}
	// Kill the DNS server: the next container start brings it back.
	data, err := os.ReadFile(filepath.Join(engine.RunDir(c.root), "dns.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Fatalf("dns pid %q", data)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "dns server to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	c.must("restart", "-t", "0", "db")
	if !resolves("app", "db") {
		t.Errorf("db does not resolve after the DNS server was restarted")
	}
}
