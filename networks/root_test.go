package networks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/testutil"
)

// newTestManager gives a test its own state root and registers a cleanup
// that removes everything the test created and checks nothing is left.
func newTestManager(t testing.TB) *Manager {
	t.Helper()
	testutil.RequiresRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	m := &Manager{StateDir: filepath.Join(root, "networks"), RunDir: filepath.Join(root, "run"), Exe: exe}
	t.Cleanup(func() { cleanupManager(t, m) })
	return m
}

func cleanupManager(t testing.TB, m *Manager) {
	ctx := context.Background()
	nets, err := m.List()
	if err != nil {
		t.Errorf("cleanup list: %v", err)
	}
	for _, n := range nets {
		for _, e := range n.Endpoints {
			if err := m.Disconnect(ctx, n.Name, e.ContainerID); err != nil {
				t.Errorf("cleanup disconnect: %v", err)
			}
		}
		if err := m.Remove(ctx, n.Name); err != nil {
			t.Errorf("cleanup remove %s: %v", n.Name, err)
		}
		assertGone(t, n)
	}
	entries, _ := os.ReadDir(m.netnsDir())
	for _, e := range entries {
		if err := m.DeleteNetNS(e.Name()); err != nil {
			t.Errorf("cleanup netns: %v", err)
		}
	}
	testutil.Eventually(t, 10*time.Second, "dns server exit", func() bool { _, alive := m.dnsPID(); return !alive })
}

// assertGone checks that no kernel object of network n is left.
func assertGone(t testing.TB, n Network) {
	t.Helper()
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		t.Errorf("bridge %s still exists", n.Bridge)
	}
	for _, e := range n.Endpoints {
		if _, err := netlink.LinkByName(e.HostIface); err == nil {
			t.Errorf("veth %s still exists", e.HostIface)
		}
	}
	if ok, err := nftTableExists(n.Bridge); err != nil || ok {
		t.Errorf("nft table of %s still exists (err %v)", n.Bridge, err)
	}
}

func uniqueName(t testing.TB) string {
	return fmt.Sprintf("t%s_default", randomHex(4))
}

// inNetNS runs fn on a locked thread inside the namespace at path, then
// switches the thread back (or leaves it locked so Go retires it).
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		err = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func TestEnsureAndRemove(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	name := uniqueName(t)
	labels := map[string]string{"com.docker.compose.project": "p"}
	n, err := m.Ensure(ctx, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.ID) != 64 || n.Bridge != "br-"+n.ID[:12] || n.Labels["com.docker.compose.project"] != "p" {
		t.Fatalf("bad record %+v", n)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if br.Type() != "bridge" || br.Attrs().Flags&net.FlagUp == 0 || br.Attrs().HardwareAddr.String() != n.BridgeMAC {
		t.Fatalf("bridge %s: type %s flags %v mac %s want %s", n.Bridge, br.Type(), br.Attrs().Flags, br.Attrs().HardwareAddr, n.BridgeMAC)
	}
	as, err := netlink.AddrList(br, netlink.FAMILY_V4)
	if err != nil || len(as) != 1 || as[0].IPNet.String() != n.Gateway+"/"+strings.Split(n.Subnet, "/")[1] {
		t.Fatalf("bridge addresses %v (err %v), want gateway %s in %s", as, err, n.Gateway, n.Subnet)
	}
	if v, _ := os.ReadFile("/proc/sys/net/ipv4/conf/" + n.Bridge + "/route_localnet"); string(v) != "1\n" {
		t.Fatalf("route_localnet = %q", v)
	}
	if v, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(v) != "1\n" {
		t.Fatalf("ip_forward = %q", v)
	}
	if ok, err := nftTableExists(n.Bridge); err != nil || !ok {
		t.Fatalf("nft table missing (err %v)", err)
	}

	checkNFTRules(t, n)

	again, err := m.Ensure(ctx, name, nil)
	if err != nil || again.ID != n.ID || again.Subnet != n.Subnet {
		t.Fatalf("second Ensure: %+v %v", again, err)
	}
	got, err := m.Get(name)
	if err != nil || got.ID != n.ID {
		t.Fatalf("Get: %v", err)
	}
	if l, err := m.List(); err != nil || len(l) != 1 {
		t.Fatalf("List: %v %v", l, err)
	}

	if err := m.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	assertGone(t, *n)
	if _, err := m.Get(name); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after Remove: %v", err)
	}
	if err := m.Remove(ctx, name); !errdefs.IsNotFound(err) {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := m.Ensure(ctx, "bad/name", nil); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad name: %v", err)
	}
}

func TestEnsureRepairsBridge(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	n, err := m.Ensure(t.Context(), uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := deleteBridge(n.Bridge); err != nil { // as after a reboot
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context(), n.Name, nil); err != nil {
		t.Fatal(err)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil || br.Attrs().HardwareAddr.String() != n.BridgeMAC {
		t.Fatalf("bridge not repaired: %v", err)
	}
}

// TestRemovePartlyGone: what a removal that failed half way (or a
// reboot) left is removed in any combination: an endpoint whose veth and
// namespace are gone, a network whose bridge and tables are gone.
func TestRemovePartlyGone(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := connect(t, m, n.Name, "a"), connect(t, m, n.Name, "b")
	if err := m.Remove(ctx, n.Name); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("Remove with endpoints: %v", err)
	}
	// a's namespace (and with it its veth) is gone, b's veth only.
	if err := m.DeleteNetNS(a.id); err != nil {
		t.Fatal(err)
	}
	deleteHostVeth(b.ep.HostIface)
	testutil.Eventually(t, 10*time.Second, "a's veth to go with its namespace", func() bool {
		_, err := netlink.LinkByName(a.ep.HostIface)
		return err != nil
	})
	for _, c := range []container{a, b, a} { // a twice: already released
		if err := m.Disconnect(ctx, n.Name, c.id); err != nil {
			t.Fatalf("Disconnect %s: %v", c.ep.ContainerName, err)
		}
	}
	if err := m.DeleteNetNS(b.id); err != nil {
		t.Fatal(err)
	}
	if err := removeNFT(n.Bridge); err != nil {
		t.Fatal(err)
	}
	if err := deleteBridge(n.Bridge); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, n.Name); err != nil {
		t.Fatalf("Remove of a network whose bridge and tables are gone: %v", err)
	}
	assertGone(t, *n)
	if err := m.Disconnect(ctx, n.Name, a.id); err != nil {
		t.Fatalf("Disconnect from a removed network: %v", err)
	}
}

// TestConnectReplacesStaleEndpoint: an endpoint whose veth is gone with
// its namespace (a run nobody tore down) does not keep its container from
// connecting again, at the same static address; a live one does.
func TestConnectReplacesStaleEndpoint(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	static := gatewayOf(netip.MustParsePrefix(n.Subnet)).Next().Next().String()
	id := randomHex(32)
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Connect(ctx, ns, n.Name, Endpoint{ContainerID: id, IP: static})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Connect(ctx, ns, n.Name, Endpoint{ContainerID: id}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("connect while connected: %v", err)
	}
	if err := m.DeleteNetNS(id); err != nil { // its run is gone, its record stays
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the veth to go with the namespace", func() bool { return !linkExists(first.HostIface) })
	if ns, err = m.CreateNetNS(id); err != nil {
		t.Fatal(err)
	}
	again, err := m.Connect(ctx, ns, n.Name, Endpoint{ContainerID: id, IP: static})
	if err != nil {
		t.Fatalf("connect after the namespace went: %v", err)
	}
	if again.IP != static {
		t.Errorf("address %s, want %s", again.IP, static)
	}
	got, err := m.Get(n.Name)
	if err != nil || len(got.Endpoints) != 1 || got.Endpoints[0].HostIface != again.HostIface {
		t.Fatalf("endpoints %+v, %v", got.Endpoints, err)
	}
}

// TestEnsureBridgeSubnetTaken: a network whose bridge went (a reboot)
// and whose subnet another network took meanwhile is not revived on top
// of it: Ensure says which subnet clashes, and revives it once it is free.
func TestEnsureBridgeSubnetTaken(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	n, err := m.Ensure(t.Context(), uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := deleteBridge(n.Bridge); err != nil {
		t.Fatal(err)
	}
	other := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "ct" + randomHex(4)}}
	if err := netlink.LinkAdd(other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(other) })
	gw := netip.MustParseAddr(n.Gateway).Next()
	if err := netlink.AddrAdd(other, &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context(), n.Name, nil); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), n.Subnet) {
		t.Fatalf("Ensure with its subnet taken: %v", err)
	}
	if linkExists(n.Bridge) {
		t.Fatal("the bridge was revived on a subnet in use")
	}
	if err := netlink.LinkDel(other); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context(), n.Name, nil); err != nil || !linkExists(n.Bridge) {
		t.Fatalf("Ensure once the subnet is free: %v", err)
	}
}

func TestParallelEnsureAcrossStateRoots(t *testing.T) {
	t.Parallel()
	ms := []*Manager{newTestManager(t), newTestManager(t), newTestManager(t)}
	nets := make([]*Network, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { nets[i], errs[i] = m.Ensure(t.Context(), uniqueName(t), nil) })
	}
	wg.Wait()
	for i := range ms {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for j := range i {
			a, b := netip.MustParsePrefix(nets[i].Subnet), netip.MustParsePrefix(nets[j].Subnet)
			if a.Overlaps(b) {
				t.Fatalf("subnets overlap: %s and %s", a, b)
			}
		}
	}
}

func TestNetNS(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	id := randomHex(32)
	path, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(m.RunDir, "netns", id[:12]) || !isNetNS(path) {
		t.Fatalf("netns path %s", path)
	}
	if again, err := m.CreateNetNS(id); err != nil || again != path {
		t.Fatalf("CreateNetNS again: %s %v", again, err)
	}
	err = inNetNS(path, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if lo.Attrs().Flags&net.FlagUp == 0 {
			return errors.New("lo is down")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteNetNS(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("netns file left: %v", err)
	}
	if err := m.DeleteNetNS(id); err != nil {
		t.Fatalf("DeleteNetNS twice: %v", err)
	}
	if _, err := m.CreateNetNS("../x"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad id: %v", err)
	}
}

// container is a netns connected to a network, as the runtime would make it.
type container struct {
	id, ns string
	ep     Endpoint
}

func connect(t testing.TB, m *Manager, network, name string, aliases ...string) container {
	t.Helper()
	id := randomHex(32)
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := m.Connect(t.Context(), ns, network, Endpoint{ContainerID: id, ContainerName: name, Aliases: aliases})
	if err != nil {
		t.Fatal(err)
	}
	return container{id: id, ns: ns, ep: ep}
}

func TestConnectTraffic(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, m, n.Name, "p-a-1", "a")
	b := connect(t, m, n.Name, "p-b-1", "b")
	subnet := netip.MustParsePrefix(n.Subnet)
	ipA := netip.MustParseAddr(a.ep.IP)
	if ipA != gatewayOf(subnet).Next() || a.ep.IfName != "eth0" || a.ep.MAC != macFor(ipA).String() {
		t.Fatalf("endpoint a: %+v", a.ep)
	}
	if a.ep.IP == b.ep.IP {
		t.Fatalf("same IP twice: %s", a.ep.IP)
	}
	if _, err := m.Connect(ctx, a.ns, n.Name, Endpoint{ContainerID: a.id}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("double connect: %v", err)
	}
	if err := m.Remove(ctx, n.Name); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("Remove with endpoints: %v", err)
	}

	// Inside a: eth0 with the address and MAC, default route via the gateway.
	err = inNetNS(a.ns, func() error {
		eth0, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if eth0.Attrs().HardwareAddr.String() != a.ep.MAC || eth0.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("eth0 mac %s flags %v", eth0.Attrs().HardwareAddr, eth0.Attrs().Flags)
		}
		as, err := netlink.AddrList(eth0, netlink.FAMILY_V4)
		if err != nil || len(as) != 1 || as[0].IP.String() != a.ep.IP {
			return fmt.Errorf("eth0 addresses %v %v", as, err)
		}
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == n.Gateway {
				return nil
			}
		}
		return fmt.Errorf("no default route via %s in %v", n.Gateway, routes)
	})
	if err != nil {
		t.Fatal(err)
	}

	// TCP from b to a across the bridge.
	var ln net.Listener
	if err := inNetNS(a.ns, func() (err error) {
		ln, err = net.Listen("tcp4", net.JoinHostPort(a.ep.IP, "8080"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- err.Error()
			return
		}
		defer c.Close()
		buf := make([]byte, 5)
		_, _ = c.Read(buf)
		accepted <- string(buf)
	}()
	err = inNetNS(b.ns, func() error {
		d := net.Dialer{Timeout: 5 * time.Second}
		c, err := d.DialContext(ctx, "tcp4", net.JoinHostPort(a.ep.IP, "8080"))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hello"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-accepted:
		if got != "hello" {
			t.Fatalf("a received %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a never received the connection")
	}

	// The bridge keeps its pinned MAC with ports attached.
	if br, err := netlink.LinkByName(n.Bridge); err != nil || br.Attrs().HardwareAddr.String() != n.BridgeMAC {
		t.Fatalf("bridge MAC changed with ports attached (err %v)", err)
	}

	// Networks are isolated: a container on another network cannot reach a.
	other, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := connect(t, m, other.Name, "p-x-1")
	err = inNetNS(x.ns, func() error {
		d := net.Dialer{Timeout: 300 * time.Millisecond}
		if c, err := d.DialContext(ctx, "tcp4", net.JoinHostPort(a.ep.IP, "8080")); err == nil {
			c.Close()
			return errors.New("connected across networks")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Disconnect releases the address: the next endpoint gets it again.
	if err := m.Disconnect(ctx, n.Name, a.id); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(a.ep.HostIface); err == nil {
		t.Fatalf("host veth %s left after Disconnect", a.ep.HostIface)
	}
	if err := m.Disconnect(ctx, n.Name, a.id); err != nil {
		t.Fatalf("Disconnect twice: %v", err)
	}
	c := connect(t, m, n.Name, "p-c-1")
	if c.ep.IP != a.ep.IP {
		t.Fatalf("released address not reused: got %s want %s", c.ep.IP, a.ep.IP)
	}

	// A second network in the same netns becomes eth1 without a new default route.
	n2, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ep2, err := m.Connect(ctx, b.ns, n2.Name, Endpoint{ContainerID: b.id, ContainerName: "p-b-1"})
	if err != nil {
		t.Fatal(err)
	}
	if ep2.IfName != "eth1" {
		t.Fatalf("second network interface %s", ep2.IfName)
	}

	// Deleting the netns first takes the veth with it; Disconnect still works.
	if err := m.DeleteNetNS(b.id); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "veth to vanish with its netns", func() bool {
		_, err := netlink.LinkByName(b.ep.HostIface)
		return err != nil
	})
	if err := m.Disconnect(ctx, n.Name, b.id); err != nil {
		t.Fatal(err)
	}
}

// query asks server for name over proto from inside the namespace ns (a
// container's: the server answers nobody else).
func query(t *testing.T, ns, server, name string, proto string) *dns.Msg {
	t.Helper()
	resp, err := exchangeOver(proto, ns, server, name, 3*time.Second)
	if err != nil {
		t.Fatalf("query %s @%s/%s: %v", name, server, proto, err)
	}
	return resp
}

func answerIPs(resp *dns.Msg) []string {
	var out []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func TestDNS(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	n1, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureDNS(ctx); err != nil {
		t.Fatal(err)
	}
	pid, ok := m.dnsPID()
	if !ok {
		t.Fatal("no dns server running")
	}
	// Connected after the server started: must resolve at once.
	web1 := connect(t, m, n1.Name, "p-web-1", "web")
	web2 := connect(t, m, n1.Name, "p-web-2", "web")
	db := connect(t, m, n2.Name, "p-db-1", "db")
	client := connect(t, m, n1.Name, "p-client-1", "client")

	// Round robin: both replicas, in rotating order.
	r1 := answerIPs(query(t, client.ns, n1.Gateway, "web", "udp"))
	r2 := answerIPs(query(t, client.ns, n1.Gateway, "web", "udp"))
	want := []string{web1.ep.IP, web2.ep.IP}
	if !sameSet(r1, want) || !sameSet(r2, want) || slices.Equal(r1, r2) {
		t.Fatalf("web answers %v then %v, want rotating %v", r1, r2, want)
	}
	if got := answerIPs(query(t, client.ns, n1.Gateway, "p-web-2", "tcp")); !slices.Equal(got, []string{web2.ep.IP}) {
		t.Fatalf("container name over tcp: %v", got)
	}
	if resp := query(t, client.ns, n1.Gateway, "nosuchservice", "udp"); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("unknown name rcode %d", resp.Rcode)
	}
	// db lives on n2 only: n1's listener must not know it.
	if resp := query(t, client.ns, n1.Gateway, "db", "udp"); resp.Rcode != dns.RcodeNameError || len(resp.Answer) != 0 {
		t.Fatalf("db answered on the other network: %v", resp)
	}
	// From inside a container, through its default route to the gateway.
	err = inNetNS(db.ns, func() error {
		c := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
		q := new(dns.Msg)
		q.SetQuestion("db.", dns.TypeA)
		resp, _, err := c.Exchange(q, net.JoinHostPort(n2.Gateway, "53"))
		if err != nil {
			return err
		}
		if got := answerIPs(resp); !slices.Equal(got, []string{db.ep.IP}) {
			return fmt.Errorf("db from its container: %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Disconnect: the name is gone at once.
	if err := m.Disconnect(ctx, n1.Name, web2.id); err != nil {
		t.Fatal(err)
	}
	if got := answerIPs(query(t, client.ns, n1.Gateway, "web", "udp")); !slices.Equal(got, []string{web1.ep.IP}) {
		t.Fatalf("after disconnect web = %v", got)
	}
	if resp := query(t, client.ns, n1.Gateway, "p-web-2", "udp"); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("disconnected container still resolves: %v", resp)
	}

	// A network created later is served after EnsureDNS, by the same process.
	n3, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureDNS(ctx); err != nil {
		t.Fatal(err)
	}
	if pid3, _ := m.dnsPID(); pid3 != pid {
		t.Fatalf("dns server restarted: %d -> %d", pid, pid3)
	}
	cache := connect(t, m, n3.Name, "p-cache-1", "cache")
	if got := answerIPs(query(t, cache.ns, n3.Gateway, "cache", "udp")); len(got) != 1 {
		t.Fatalf("cache on new network: %v", got)
	}
	// cleanupManager removes every network and waits for the server to exit.
}

func TestDNSExitsWithLastNetwork(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureDNS(ctx); err != nil {
		t.Fatal(err)
	}
	pid, ok := m.dnsPID()
	if !ok {
		t.Fatal("no dns server")
	}
	if err := m.Remove(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "dns server exit", func() bool {
		return unix.Kill(pid, 0) != nil
	})
	if _, err := os.Stat(filepath.Join(m.RunDir, dnsPidFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pidfile left: %v", err)
	}
	// No network: EnsureDNS starts nothing.
	if err := m.EnsureDNS(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.dnsPID(); ok {
		t.Fatal("dns server started without networks")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// checkNFTRules reads the table back: base chains on the right hooks and a
// masquerade rule for the subnet.
func checkNFTRules(t *testing.T, n *Network) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Name: nftTableName(n.Bridge), Family: nftables.TableFamilyIPv4}
	want := map[string]struct {
		hook  nftables.ChainHook
		rules int
	}{
		"postrouting": {*nftables.ChainHookPostrouting, 1},
		"forward":     {*nftables.ChainHookForward, 4}, // dnat accept, isolation drop, in/out accepts
		"input":       {*nftables.ChainHookInput, 6},   // DNS to the gateway: accept from the bridge and the host, else drop (udp, tcp)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, ch := range chains {
		w, ok := want[ch.Name]
		if !ok || ch.Table.Name != table.Name {
			continue
		}
		found++
		if ch.Hooknum == nil || *ch.Hooknum != w.hook {
			t.Errorf("chain %s hook %v", ch.Name, ch.Hooknum)
		}
		rules, err := c.GetRules(table, ch)
		if err != nil || len(rules) != w.rules {
			t.Errorf("chain %s: %d rules (err %v), want %d", ch.Name, len(rules), err, w.rules)
		}
		if ch.Name == "postrouting" && len(rules) == 1 {
			if _, ok := rules[0].Exprs[len(rules[0].Exprs)-1].(*expr.Masq); !ok {
				t.Errorf("postrouting rule does not masquerade: %v", rules[0].Exprs)
			}
		}
	}
	if found != len(want) {
		t.Errorf("found %d of %d chains in %s", found, len(want), table.Name)
	}
}

// TestDockerUser runs alone (not parallel): it may create iptables-nft's
// DOCKER-USER chain, which every Ensure then uses.
func TestDockerUser(t *testing.T) {
	m := newTestManager(t)
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	filter := &nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4}
	ch, err := dockerUserChain(c)
	if err != nil {
		t.Fatal(err)
	}
	if ch == nil {
		_, tableErr := c.ListTableOfFamily("filter", nftables.TableFamilyIPv4)
		c.AddTable(filter)
		ch = c.AddChain(&nftables.Chain{Name: "DOCKER-USER", Table: filter})
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if tableErr != nil { // we created the table
				c.DelTable(filter)
			} else {
				c.DelChain(ch)
			}
			if err := c.Flush(); err != nil {
				t.Errorf("remove DOCKER-USER: %v", err)
			}
		})
	}
	ours := func(bridge string) int {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, r := range rules {
			if commentOf(r.UserData) == dockerUserComment(bridge) {
				k++
			}
		}
		return k
	}
	n, err := m.Ensure(t.Context(), uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ours(n.Bridge); got != 2 {
		t.Fatalf("%d DOCKER-USER rules for %s, want 2", got, n.Bridge)
	}
	if _, err := m.Ensure(t.Context(), n.Name, nil); err != nil { // repair must not duplicate
		t.Fatal(err)
	}
	if got := ours(n.Bridge); got != 2 {
		t.Fatalf("after second Ensure: %d rules, want 2", got)
	}
	if err := m.Remove(t.Context(), n.Name); err != nil {
		t.Fatal(err)
	}
	if got := ours(n.Bridge); got != 0 {
		t.Fatalf("after Remove: %d rules left", got)
	}
}

// TestDNSReloadKeepsServing fires queries while endpoints come and go and
// the server is told to reload: every query must be answered.
func TestDNSReloadKeepsServing(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, m, n.Name, "p-web-1", "web")
	client := connect(t, m, n.Name, "p-client-1", "client")
	if err := m.EnsureDNS(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var failures, answered int
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Go(func() {
			// From the client's namespace: the server answers its containers only.
			err := inNetNS(client.ns, func() error {
				c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
				for {
					select {
					case <-done:
						return nil
					default:
					}
					q := new(dns.Msg)
					q.SetQuestion("web.", dns.TypeA)
					resp, _, err := c.ExchangeContext(ctx, q, net.JoinHostPort(n.Gateway, "53"))
					mu.Lock()
					if err != nil || resp.Rcode != dns.RcodeSuccess || len(resp.Answer) == 0 {
						failures++
					}
					answered++
					mu.Unlock()
				}
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	for i := range 10 {
		c := connect(t, m, n.Name, fmt.Sprintf("p-web-%d", i+2), "web")
		m.notifyDNS()
		if err := m.Disconnect(ctx, n.Name, c.id); err != nil {
			t.Error(err)
		}
		if err := m.DeleteNetNS(c.id); err != nil {
			t.Error(err)
		}
	}
	close(done)
	wg.Wait()
	if failures > 0 || answered == 0 {
		t.Fatalf("%d of %d queries failed across reloads", failures, answered)
	}
	t.Logf("%d queries answered across reloads", answered)
}

func TestParallelConnectDistinctIPs(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	n, err := m.Ensure(t.Context(), uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]Endpoint, 6)
	errs := make([]error, len(eps))
	var wg sync.WaitGroup
	for i := range eps {
		wg.Go(func() {
			id := randomHex(32)
			ns, err := m.CreateNetNS(id)
			if err != nil {
				errs[i] = err
				return
			}
			eps[i], errs[i] = m.Connect(t.Context(), ns, n.Name, Endpoint{ContainerID: id, ContainerName: fmt.Sprintf("p-w-%d", i)})
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, ep := range eps {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[ep.IP] {
			t.Fatalf("address %s given twice", ep.IP)
		}
		seen[ep.IP] = true
	}
	got, err := m.Get(n.Name)
	if err != nil || len(got.Endpoints) != len(eps) {
		t.Fatalf("record has %d endpoints (err %v), want %d", len(got.Endpoints), err, len(eps))
	}
}

// TestOrphanTablesDropped: a network that lost its bridge and its record
// (a crash, a state root thrown away) leaves its nftables tables; a network
// made afterwards drops them, so their rules (a masquerade of a subnet now
// given to another network) never apply to it.
func TestOrphanTablesDropped(t *testing.T) {
	lost := newTestManager(t)
	n, err := lost.EnsureWith(t.Context(), uniqueName(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The crash: the bridge and the state go, the tables stay.
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		netlink.LinkDel(l)
	}
	os.RemoveAll(lost.StateDir)
	if ok, err := nftTableExists(n.Bridge); err != nil || !ok {
		t.Fatalf("the orphan table should still be there: %v %v", ok, err)
	}
	m := newTestManager(t)
	if _, err := m.EnsureWith(t.Context(), uniqueName(t), Options{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := nftTableExists(n.Bridge); err != nil || ok {
		t.Errorf("the orphan table of %s is still there (err %v)", n.Bridge, err)
	}
}
