package e2e

import (
	"crypto/rand"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables"

	"github.com/composer-dev/compose/internal/testutil"
)

const ipv6Stack = `
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hi6 > /index.html && exec httpd -f -p 80 -h /"]
    networks:
      v6:
        ipv6_address: "WEB"
  client:
    image: busybox
    command: ["sleep", "1000"]
    networks: [v6]
networks:
  v6:
    enable_ipv6: true
    ipam:
      config:
        - subnet: "SUBNET"
`

// TestIPv6: enable_ipv6 with an IPv6 subnet (a random ULA /64 the test
// picks), a static ipv6_address, AAAA answers from the embedded DNS,
// container to container over IPv6, and outbound IPv6 masqueraded by the
// ip6 table (checked against the stand-in outside namespace).
func TestIPv6(t *testing.T) {
	testutil.RequiresRoot(t)
	var a [16]byte
	a[0] = 0xfd
	_, _ = rand.Read(a[1:8])
	subnet := netip.PrefixFrom(netip.AddrFrom16(a), 64)
	web := subnet.Addr().Next().Next().Next() // ::3
	out := newOutside(t)
	out.addIPv6(t)
	server := out.serveSourceAddrOn(t, out.ip6)

	yaml := strings.NewReplacer("SUBNET", subnet.String(), "WEB", web.String()).Replace(ipv6Stack)
	c := projectCLI(t, "ipv6", yaml)
	c.must("up", "-d")
	nets := c.networks()
	if len(nets) != 1 || nets[0].Subnet6 != subnet.String() {
		t.Fatalf("networks: %+v", nets)
	}
	bridge := nets[0].Bridge

	if got := c.must("exec", "client", "nslookup", "-type=AAAA", "web").stdout; !strings.Contains(got, web.String()) {
		t.Errorf("AAAA web from the embedded DNS:\n%s", got)
	}
	if got := c.must("exec", "client", "nslookup", "web").stdout; !strings.Contains(got, nets[0].Subnet[:4]) {
		t.Errorf("A web still answers:\n%s", got)
	}
	if got := c.run("exec", "client", "nslookup", web.String()); !strings.Contains(got.stdout, "-web-1") {
		t.Errorf("PTR of %s: %s", web, got)
	}
	if got := c.must("exec", "web", "cat", "/etc/hosts").stdout; !strings.Contains(got, web.String()+"\t") {
		t.Errorf("web's /etc/hosts has no line for %s:\n%s", web, got)
	}
	if got := httpFromContainer(t, c, "client", "["+web.String()+"]:80"); got != "hi6" {
		t.Errorf("client to web over IPv6: %q", got)
	}
	if got := httpFromContainer(t, c, "client", server); got != out.hostIP6.String() {
		t.Errorf("outside server saw %q, want the host's address %s", got, out.hostIP6)
	}
	if !ip6TableExists(t, "compose-"+bridge) {
		t.Errorf("no ip6 table for %s", bridge)
	}
	var docs []struct {
		EnableIPv6 bool
		IPAM       struct {
			Config []struct{ Subnet, Gateway string }
		}
		Containers map[string]struct{ Name, IPv6Address string }
	}
	if err := json.Unmarshal([]byte(c.must("network", "inspect", nets[0].Name).stdout), &docs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ctr := range docs[0].Containers {
		found = found || ctr.IPv6Address == web.String()+"/64"
	}
	if len(docs) != 1 || !docs[0].EnableIPv6 || len(docs[0].IPAM.Config) != 2 || docs[0].IPAM.Config[1].Subnet != subnet.String() || !found {
		t.Errorf("network inspect: %+v", docs)
	}
	c.must("down", "-t", "0")
	if ip6TableExists(t, "compose-"+bridge) {
		t.Errorf("ip6 table of %s left after down", bridge)
	}

	// network create --ipv6 with a subnet of its own.
	a[7] ^= 1
	other := netip.PrefixFrom(netip.AddrFrom16(a), 64)
	name := "v6" + strings.ReplaceAll(other.Addr().String()[:9], ":", "")
	t.Cleanup(func() { c.run("network", "rm", name) })
	c.must("network", "create", "--ipv6", "--subnet", other.String(), name)
	if got := c.must("network", "inspect", name).stdout; !strings.Contains(got, `"EnableIPv6": true`) || !strings.Contains(got, other.String()) {
		t.Errorf("network create --ipv6:\n%s", got)
	}
	c.must("network", "rm", name)

	// ipv6_address outside the subnet, or without enable_ipv6: one line, nothing created.
	for name, bad := range map[string]string{
		"outside": strings.Replace(yaml, web.String(), "fd00:dead::3", 1),
		"no v6":   strings.Replace(strings.Replace(yaml, "enable_ipv6: true", "enable_ipv6: false", 1), "- subnet: \""+subnet.String()+"\"", "- subnet: 10.251.0.0/24", 1),
	} {
		d := projectCLI(t, "ipv6bad", bad)
		r := d.run("up", "-d")
		if r.code == 0 || !strings.Contains(r.stderr, "ipv6_address") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || len(d.networks()) != 0 {
			t.Errorf("%s: %s", name, r)
		}
	}
}

func ip6TableExists(t *testing.T, name string) bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTableOfFamily(name, nftables.TableFamilyIPv6)
	return err == nil
}
