package networks

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/errdefs"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestDefaultPool(t *testing.T) {
	pool := defaultPool()
	if got, want := len(pool), 15+16; got != want {
		t.Fatalf("pool size %d, want %d", got, want)
	}
	if pool[0].String() != "172.17.0.0/16" || pool[14].String() != "172.31.0.0/16" ||
		pool[15].String() != "192.168.0.0/20" || pool[30].String() != "192.168.240.0/20" {
		t.Fatalf("unexpected pool bounds: %v", pool)
	}
}

func TestPickSubnet(t *testing.T) {
	tests := []struct {
		name    string
		used    []netip.Prefix
		want    string
		wantErr error
	}{
		{"empty host skips docker0", nil, "172.18.0.0/16", nil},
		{"skips used /16", prefixes("172.18.0.0/16"), "172.19.0.0/16", nil},
		{"skips overlapping smaller route", prefixes("172.18.5.0/24", "172.19.0.1/32"), "172.20.0.0/16", nil},
		{"skips overlapping larger route", prefixes("172.16.0.0/12"), "192.168.0.0/20", nil},
		{"192.168 /20s", prefixes("172.16.0.0/12", "192.168.0.0/24"), "192.168.16.0/20", nil},
		{"exhausted", prefixes("172.16.0.0/12", "192.168.0.0/16"), "", errdefs.ErrFailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickSubnet(defaultPool(), tt.used)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got.String() != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNextFreeIP(t *testing.T) {
	tests := []struct {
		subnet  string
		used    []netip.Addr
		want    string
		wantErr error
	}{
		{"172.18.0.0/16", nil, "172.18.0.2", nil},
		{"172.18.0.0/16", addrs("172.18.0.2", "172.18.0.3"), "172.18.0.4", nil},
		{"172.18.0.0/16", addrs("172.18.0.3"), "172.18.0.2", nil}, // released address is reused
		{"172.18.0.0/16", addrs("172.18.0.2", "172.18.0.3"), "172.18.0.4", nil},
		{"10.0.0.0/30", nil, "10.0.0.2", nil},
		{"10.0.0.0/30", addrs("10.0.0.2"), "", errdefs.ErrFailedPrecondition},
		{"192.168.16.0/20", nil, "192.168.16.2", nil},
	}
	for _, tt := range tests {
		got, err := nextFreeIP(netip.MustParsePrefix(tt.subnet), tt.used)
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s %v: err %v, want %v", tt.subnet, tt.used, err, tt.wantErr)
		}
		if tt.wantErr == nil && got.String() != tt.want {
			t.Fatalf("%s %v: got %s, want %s", tt.subnet, tt.used, got, tt.want)
		}
	}
}

func TestGatewayLastHost(t *testing.T) {
	tests := []struct{ subnet, gw, last string }{
		{"172.18.0.0/16", "172.18.0.1", "172.18.255.254"},
		{"192.168.16.0/20", "192.168.16.1", "192.168.31.254"},
		{"10.1.2.0/24", "10.1.2.1", "10.1.2.254"},
	}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.subnet)
		if g := gatewayOf(p).String(); g != tt.gw {
			t.Errorf("gateway of %s = %s, want %s", tt.subnet, g, tt.gw)
		}
		if l := lastHost(p).String(); l != tt.last {
			t.Errorf("last host of %s = %s, want %s", tt.subnet, l, tt.last)
		}
	}
}

func TestCheckStaticIP(t *testing.T) {
	subnet := netip.MustParsePrefix("172.20.0.0/16")
	tests := []struct {
		ip      string
		wantErr error
	}{
		{"172.20.0.10", nil},
		{"172.20.0.1", errdefs.ErrInvalidArgument},     // gateway
		{"172.20.0.0", errdefs.ErrInvalidArgument},     // network
		{"172.20.255.255", errdefs.ErrInvalidArgument}, // broadcast
		{"172.21.0.5", errdefs.ErrInvalidArgument},
		{"172.20.0.2", errdefs.ErrConflict},
	}
	for _, tt := range tests {
		err := checkStaticIP(subnet, netip.MustParseAddr(tt.ip), addrs("172.20.0.2"))
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err %v, want %v", tt.ip, err, tt.wantErr)
		}
	}
}

func TestMacFor(t *testing.T) {
	if got := macFor(netip.MustParseAddr("172.18.0.2")).String(); got != "02:42:ac:12:00:02" {
		t.Fatalf("got %s", got)
	}
	if m := randomMAC(); m[0]&0x01 != 0 || m[0]&0x02 == 0 {
		t.Fatalf("random MAC %s is not local unicast", m)
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"proj_default": true, "a.b-c_d": true, "1net": true,
		"": false, "../x": false, "a/b": false, "_x": false, ".hidden": false,
	} {
		if err := validName(name); (err == nil) != ok || (!ok && !errdefs.IsInvalidArgument(err)) {
			t.Errorf("validName(%q) = %v", name, err)
		}
	}
}

func TestNextEthName(t *testing.T) {
	mk := func(names ...string) []netlink.Link {
		var out []netlink.Link
		for _, n := range names {
			out = append(out, &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: n}})
		}
		return out
	}
	tests := []struct {
		links []netlink.Link
		want  string
	}{
		{mk("lo"), "eth0"},
		{mk("lo", "eth0"), "eth1"},
		{mk("lo", "eth1"), "eth0"},
		{mk("lo", "eth0", "eth1", "ethx"), "eth2"},
	}
	for _, tt := range tests {
		if got := nextEthName(tt.links); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

func TestCommentOf(t *testing.T) {
	tests := []struct {
		ud   []byte
		want string
	}{
		{nil, ""},
		{[]byte{0, 4, 'a', 'b', 'c', 0}, "abc"},
		{[]byte{1, 1, 'x', 0, 3, 'a', 'b', 0}, "ab"},
		{[]byte{0, 200, 'a'}, ""}, // truncated TLV must not panic
		{[]byte{0}, ""},
	}
	for _, tt := range tests {
		if got := commentOf(tt.ud); got != tt.want {
			t.Errorf("commentOf(%v) = %q, want %q", tt.ud, got, tt.want)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	m := &Manager{StateDir: filepath.Join(t.TempDir(), "networks")}
	if _, err := m.Get("nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get missing: %v", err)
	}
	if l, err := m.List(); err != nil || len(l) != 0 {
		t.Fatalf("List empty: %v %v", l, err)
	}
	lock, err := m.lock(t.Context()) // creates StateDir
	if err != nil {
		t.Fatal(err)
	}
	lock.Unlock()
	for _, name := range []string{"b_net", "a_net"} {
		if err := m.save(&Network{Name: name, Subnet: "172.18.0.0/16", Endpoints: []Endpoint{{ContainerID: "c1", IP: "172.18.0.2"}}}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := m.List()
	if err != nil || len(l) != 2 || l[0].Name != "a_net" || l[1].Endpoints[0].IP != "172.18.0.2" {
		t.Fatalf("List: %+v %v", l, err)
	}
	if _, err := m.Get("../etc"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Get bad name: %v", err)
	}
}

func testNetwork() *Network {
	return &Network{Name: "p_default", Subnet: "172.18.0.0/16", Gateway: "172.18.0.1", Subnet6: "fd12::/64", Gateway6: "fd12::1", Endpoints: []Endpoint{
		{ContainerID: "aaaaaaaaaaaa1111", ContainerName: "p-web-1", Aliases: []string{"web", "Www"}, IP: "172.18.0.2"},
		{ContainerID: "bbbbbbbbbbbb2222", ContainerName: "/p-web-2", Aliases: []string{"web"}, IP: "172.18.0.3", IP6: "fd12::3"},
		{ContainerID: "cccccccccccc3333", ContainerName: "p-db-1", Aliases: []string{"db"}, IP: "172.18.0.4"},
	}}
}

func TestResolve(t *testing.T) {
	rs := buildRecords(testNetwork())
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		k       uint32
		forward bool
		rcode   int
		want    []string
	}{
		{"service round robin 0", "web.", dns.TypeA, 0, false, dns.RcodeSuccess, []string{"172.18.0.2", "172.18.0.3"}},
		{"service round robin 1", "web.", dns.TypeA, 1, false, dns.RcodeSuccess, []string{"172.18.0.3", "172.18.0.2"}},
		{"case insensitive alias", "WWW.", dns.TypeA, 0, false, dns.RcodeSuccess, []string{"172.18.0.2"}},
		{"container name", "p-web-2.", dns.TypeA, 0, false, dns.RcodeSuccess, []string{"172.18.0.3"}},
		{"short id", "cccccccccccc.", dns.TypeA, 0, false, dns.RcodeSuccess, []string{"172.18.0.4"}},
		{"known name AAAA is NODATA", "db.", dns.TypeAAAA, 0, false, dns.RcodeSuccess, nil},
		{"AAAA of an IPv6 endpoint", "p-web-2.", dns.TypeAAAA, 0, false, dns.RcodeSuccess, []string{"fd12::3"}},
		{"AAAA of a service", "web.", dns.TypeAAAA, 1, false, dns.RcodeSuccess, []string{"fd12::3"}},
		{"unknown single label", "cache.", dns.TypeA, 0, false, dns.RcodeNameError, nil},
		{"unknown fqdn is forwarded", "example.test.", dns.TypeA, 0, true, 0, nil},
		{"ptr of endpoint", "4.0.18.172.in-addr.arpa.", dns.TypePTR, 0, false, dns.RcodeSuccess, []string{"p-db-1.p_default."}},
		{"ptr unknown in subnet", "9.0.18.172.in-addr.arpa.", dns.TypePTR, 0, false, dns.RcodeNameError, nil},
		{"ptr of an IPv6 endpoint", "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.1.d.f.ip6.arpa.", dns.TypePTR, 0, false, dns.RcodeSuccess, []string{"p-web-2.p_default."}},
		{"ptr outside subnet is forwarded", "1.2.0.10.in-addr.arpa.", dns.TypePTR, 0, true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := new(dns.Msg)
			req.SetQuestion(tt.qname, tt.qtype)
			resp := resolve(req, rs, tt.k)
			if tt.forward {
				if resp != nil {
					t.Fatalf("want forward, got %v", resp)
				}
				return
			}
			if resp == nil {
				t.Fatal("unexpectedly forwarded")
			}
			if resp.Rcode != tt.rcode || resp.Id != req.Id || !resp.Response {
				t.Fatalf("rcode %d id %d, want %d", resp.Rcode, resp.Id, tt.rcode)
			}
			var got []string
			for _, rr := range resp.Answer {
				switch v := rr.(type) {
				case *dns.A:
					got = append(got, v.A.String())
				case *dns.AAAA:
					got = append(got, v.AAAA.String())
				case *dns.PTR:
					got = append(got, v.Ptr)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("answers %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("answers %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestResolveEmptyAndBadQuestion(t *testing.T) {
	rs := buildRecords(nil)
	req := new(dns.Msg)
	req.SetQuestion("web.", dns.TypeA)
	if resp := resolve(req, rs, 0); resp == nil || resp.Rcode != dns.RcodeNameError {
		t.Fatalf("empty network: %v", resp)
	}
	req.Question = nil
	if resp := resolve(req, rs, 0); resp == nil || resp.Rcode != dns.RcodeFormatError {
		t.Fatalf("no question: %v", resp)
	}
}

func TestChanged(t *testing.T) {
	n := &Network{Name: "p_front", Bridge: "br-0123456789ab", Subnet: "10.9.0.0/24", Gateway: "10.9.0.1", MTU: 1400,
		Labels: map[string]string{"com.docker.compose.project": "p", "com.docker.compose.version": "1", "tier": "front"}}
	same := Options{Labels: map[string]string{"com.docker.compose.project": "p", "com.docker.compose.version": "2", "tier": "front"}, MTU: 1400}
	if got := n.Changed(same); got != "" {
		t.Errorf("unchanged options reported %q", got)
	}
	for want, mod := range map[string]func(*Options){
		"ipam.config.subnet":             func(o *Options) { o.Subnet = "10.9.1.0/24" },
		"ipam.config.gateway":            func(o *Options) { o.Subnet, o.Gateway = "10.9.0.0/24", "10.9.0.254" },
		"ipam.config.ip_range":           func(o *Options) { o.IPRange = "10.9.0.128/25" },
		"ipam.config.aux_addresses":      func(o *Options) { o.AuxAddresses = map[string]string{"x": "10.9.0.9"} },
		"internal":                       func(o *Options) { o.Internal = true },
		"com.docker.network.bridge.name": func(o *Options) { o.BridgeName = "custom0" },
		"com.docker.network.driver.mtu":  func(o *Options) { o.MTU = 0 },
		"labels":                         func(o *Options) { o.Labels = map[string]string{"tier": "back"} },
	} {
		o := same
		mod(&o)
		if got := n.Changed(o); got != want {
			t.Errorf("%s: Changed = %q", want, got)
		}
	}
}

func TestIPAM6(t *testing.T) {
	subnet := netip.MustParsePrefix("fd12:3456::/64")
	gw := netip.MustParseAddr("fd12:3456::1")
	ip, err := freeIP6(subnet, []netip.Addr{gw, netip.MustParseAddr("fd12:3456::2")})
	if err != nil || ip.String() != "fd12:3456::3" {
		t.Errorf("freeIP6 = %v, %v", ip, err)
	}
	if err := checkStaticIP6(subnet, netip.MustParseAddr("fd12:3457::5"), nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("address outside the subnet: %v", err)
	}
	if err := checkStaticIP6(subnet, gw, []netip.Addr{gw}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("the gateway: %v", err)
	}
	if p := randomULA64(); p.Bits() != 64 || p.Addr().As16()[0] != 0xfd {
		t.Errorf("randomULA64 = %s", p)
	}
	if _, err := pickSubnet6("n", "", []netip.Prefix{netip.MustParsePrefix("fd00::/8")}); err == nil {
		t.Errorf("picked a ULA subnet although fd00::/8 is taken")
	}
	if _, err := pickSubnet6("n", "fd12:3456::/64", []netip.Prefix{netip.MustParsePrefix("fd12::/16")}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("overlapping subnet: %v", err)
	}
	for _, o := range []Options{
		{Subnet6: "fd12::/64"},                                        // needs enable_ipv6
		{EnableIPv6: true, Subnet6: "10.0.0.0/24"},                    // not IPv6
		{EnableIPv6: true, Subnet6: "fd12::/64", Gateway6: "fd13::1"}, // gateway outside
		{EnableIPv6: true, Gateway6: "fd12::1"},                       // gateway without subnet
	} {
		if err := ValidateOptions("n", o); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if err := ValidateOptions("n", Options{EnableIPv6: true, Subnet6: "fd12::/64", Gateway6: "fd12::fe"}); err != nil {
		t.Error(err)
	}
}

// TestLiveClaims: a claim counts while its network is on record with the
// same ID; a claim whose network is gone, was made anew, or that cannot be
// read is removed.
func TestLiveClaims(t *testing.T) {
	dir := t.TempDir()
	claims := filepath.Join(dir, "subnets")
	state := filepath.Join(dir, "root", "networks")
	if err := os.MkdirAll(claims, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path string, v any) {
		t.Helper()
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(recordPath(state, "p_live"), Network{Name: "p_live", ID: "live", Subnet: "172.20.0.0/16"})
	write(recordPath(state, "p_remade"), Network{Name: "p_remade", ID: "new", Subnet: "172.21.0.0/16"})
	for _, c := range []subnetClaim{
		{StateDir: state, Network: "p_live", ID: "live", Subnet: "172.20.0.0/16"},
		{StateDir: state, Network: "p_remade", ID: "old", Subnet: "172.21.0.0/16"},
		{StateDir: state, Network: "p_gone", ID: "gone", Subnet: "172.22.0.0/16"},
	} {
		write(claimPath(claims, c.ID), c)
	}
	if err := os.WriteFile(claimPath(claims, "torn"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := liveClaims(claims)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "live" || got[0].Subnet != "172.20.0.0/16" {
		t.Fatalf("live claims %+v, want only p_live's", got)
	}
	left, _ := os.ReadDir(claims)
	if len(left) != 1 || left[0].Name() != "live.json" {
		t.Fatalf("claims left %v, want only live.json", left)
	}
	if got, err := liveClaims(filepath.Join(dir, "nosuch")); err != nil || got != nil {
		t.Fatalf("no claims dir: %v %v", got, err)
	}
}
