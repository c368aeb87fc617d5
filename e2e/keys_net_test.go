package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/internal/testutil"
	"github.com/composer-dev/compose/networks"
)

// TestNetworkEndpointOptions: a service's networks.<net> interface_name,
// link_local_ips, gw_priority and driver_opts shape its interfaces as
// Docker 28's endpoint settings do (IfName, LinkLocalIPs, GwPriority, the
// bridge driver's com.docker.network.endpoint.sysctls with IFNAME standing
// for the interface); external_links name a container like links do
// (pkg/compose/create.go getLinks).
func TestNetworkEndpointOptions(t *testing.T) {
	c := newProject(t, `
services:
  app:
    image: busybox
    command: ["sleep", "1000"]
    external_links: ["legacy-db:cache"]
    networks:
      back: {}
      front:
        interface_name: app0
        link_local_ips: ["169.254.10.10"]
        gw_priority: 10
        driver_opts:
          com.docker.network.endpoint.sysctls: net.ipv4.conf.IFNAME.log_martians=1
  db:
    image: busybox
    container_name: legacy-db
    command: ["sleep", "1000"]
    networks: [front]
networks:
  back:
  front:
`)
	c.must("up", "-d")
	sh := func(script string) string {
		return strings.TrimSpace(c.must("exec", "-T", "app", "sh", "-c", script).stdout)
	}
	// back comes first (eth0); front, with the higher gw_priority, has the
	// default route though it is connected second.
	if got := sh("ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | tr '\\n' ' '"); got != "app0 eth0 lo" {
		t.Errorf("interfaces %q, want app0 eth0 lo", got)
	}
	if got := sh("ip route show default"); !strings.Contains(got, "dev app0") {
		t.Errorf("default route %q, want it through app0 (gw_priority 10)", got)
	}
	if got := sh("ip -o addr show dev app0"); !strings.Contains(got, "169.254.10.10/16") {
		t.Errorf("app0 addresses lack the link-local one:\n%s", got)
	}
	if got := sh("cat /proc/sys/net/ipv4/conf/app0/log_martians"); got != "1" {
		t.Errorf("log_martians on app0 = %q, want 1", got)
	}
	dbIP := strings.TrimSpace(c.must("exec", "-T", "db", "sh", "-c", "ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").stdout)
	if got := sh("nslookup cache 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}'"); got != dbIP {
		t.Errorf("external link cache resolves to %q, want legacy-db's %s", got, dbIP)
	}
}

// TestBridgeDriverOptions: com.docker.network.bridge.enable_icc=false stops
// containers of the network from reaching each other, enable_ip_masquerade
// =false sends outbound traffic with the container's own address (here: no
// answer from an outside that has no route back), as Docker's bridge
// driver does.
func TestBridgeDriverOptions(t *testing.T) {
	testutil.RequiresRoot(t)
	out := newOutside(t)
	server := out.serveSourceAddr(t)
	c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hi > /index.html && exec httpd -f -p 80 -h /"]
    networks: [isolated, open]
  client:
    image: busybox
    command: ["sleep", "1000"]
    networks: [isolated, open]
  unmasqueraded:
    image: busybox
    command: ["sleep", "1000"]
    networks: [nonat]
networks:
  isolated:
    driver_opts:
      com.docker.network.bridge.enable_icc: "false"
  open: {}
  nonat:
    driver_opts:
      com.docker.network.bridge.enable_ip_masquerade: "false"
`)
	c.must("up", "-d")
	ips := map[string]string{}
	for _, n := range c.networks() {
		for _, ep := range n.Endpoints {
			if strings.HasSuffix(ep.ContainerName, "-web-1") {
				ips[n.Name[strings.LastIndex(n.Name, "_")+1:]] = ep.IP
			}
		}
	}
	fetch := func(service, addr string) result {
		host, port, _ := net.SplitHostPort(addr)
		return c.run("exec", "-T", service, "sh", "-c", fmt.Sprintf("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 %s %s", host, port))
	}
	testutil.Eventually(t, 10*time.Second, "web to answer over the open network", func() bool {
		return strings.Contains(fetch("client", ips["open"]+":80").stdout, "hi")
	})
	if r := fetch("client", ips["isolated"]+":80"); strings.Contains(r.stdout, "hi") {
		t.Errorf("web answered over the enable_icc=false network: %s", r)
	}
	if r := fetch("client", server); !strings.Contains(r.stdout, out.hostIP.String()) {
		t.Errorf("client (masqueraded) did not reach the outside as the host: %s", r)
	}
	// With a route back to the nonat subnet, the outside sees the
	// container's own address: nothing rewrote it.
	var subnet, own string
	for _, n := range c.networks() {
		if strings.HasSuffix(n.Name, "_nonat") {
			subnet, own = n.Subnet, n.Endpoints[0].IP
		}
	}
	dst, err := netlink.ParseIPNet(subnet)
	if err != nil {
		t.Fatal(err)
	}
	out.do(t, func() error { return netlink.RouteAdd(&netlink.Route{Dst: dst, Gw: out.hostIP.AsSlice()}) })
	if r := fetch("unmasqueraded", server); !strings.Contains(r.stdout, own) {
		t.Errorf("the outside should see the container's own address %s (enable_ip_masquerade=false): %s", own, r)
	}
}

// TestNetworkModeBridge: network_mode: bridge joins the host's default
// bridge network, as Docker puts such a container on its "bridge" network:
// one for the host, shared by projects and left by `down`, where ports are
// published but no container or service name resolves (Docker's default
// bridge has no embedded DNS names: networks TestDefaultBridgeHasNoNames).
func TestNetworkModeBridge(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    network_mode: bridge
    command: ["sh", "-c", "echo hi > /index.html && exec httpd -f -p 80 -h /"]
    ports: ["127.0.0.1::80"]
  client:
    image: busybox
    network_mode: bridge
    command: ["sleep", "1000"]
`)
	t.Cleanup(func() { c.run("network", "rm", "bridge") }) // after down: nothing uses it then
	c.must("up", "-d")
	var bridge *networks.Network
	for _, n := range c.networks() {
		if n.Name == "bridge" {
			bridge = &n
		}
	}
	if bridge == nil || len(bridge.Endpoints) != 2 || bridge.Labels[record.LabelProject] != "" {
		t.Fatalf("want both containers on a project-less network named bridge: %+v", c.networks())
	}
	port := strings.TrimSpace(c.must("port", "web", "80").stdout)
	testutil.Eventually(t, 10*time.Second, "the published port to answer", func() bool {
		resp, err := http.Get("http://" + port + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	c.must("down", "-t", "0")
	still := false
	for _, n := range c.networks() {
		still = still || n.Name == "bridge"
	}
	if !still {
		t.Errorf("down removed the default bridge network")
	}
}
