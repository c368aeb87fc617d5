package networks

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/composer-dev/compose/errdefs"
)

func TestPortMappingKeyAndComment(t *testing.T) {
	p := PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}
	if p.Key() != "0.0.0.0:8080/tcp" {
		t.Fatalf("key %s", p.Key())
	}
	q, ok := parsePortComment(portComment(PortMapping{HostIP: "127.0.0.1", HostPort: 53, Protocol: "udp"}))
	if !ok || q != (PortMapping{HostIP: "127.0.0.1", HostPort: 53, Protocol: "udp"}) {
		t.Fatalf("parse: %+v %v", q, ok)
	}
	if !p.overlaps(PortMapping{HostIP: "127.0.0.1", HostPort: 8080, Protocol: "tcp"}) ||
		p.overlaps(PortMapping{HostPort: 8080, Protocol: "udp"}) ||
		(PortMapping{HostIP: "127.0.0.1", HostPort: 1, Protocol: "tcp"}).overlaps(PortMapping{HostIP: "127.0.0.2", HostPort: 1, Protocol: "tcp"}) {
		t.Fatal("overlaps")
	}
	for _, bad := range []PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "sctp"}, {HostIP: "::1", ContainerPort: 1, Protocol: "tcp"}, {Protocol: "tcp"}} {
		if err := ValidatePort(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// echoServers serves TCP and UDP echo on port inside the namespace.
func echoServers(t testing.TB, ns string, port int) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	err := inNetNS(ns, func() (err error) {
		if ln, err = net.Listen("tcp4", ":"+strconv.Itoa(port)); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", ":"+strconv.Itoa(port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
}

// echo sends a line over network to addr and expects it back.
func echo(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "ping" {
		return errors.New("bad echo " + string(buf))
	}
	return nil
}

// hostAddr is a non-loopback IPv4 address of the host outside our bridges
// (the host as other machines see it), else the gateway of n.
func hostAddr(n *Network) string {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "br-") || strings.HasPrefix(i.Name, "veth") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return n.Gateway
}

func TestPublishPorts(t *testing.T) {
	m := newTestManager(t)
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, m, n.Name, "p-a-1")
	b := connect(t, m, n.Name, "p-b-1")
	x := connect(t, m, other.Name, "p-x-1")
	echoServers(t, a.ns, 80)

	published, err := PublishedPorts()
	if err != nil {
		t.Fatal(err)
	}
	tcp := PortMapping{ContainerPort: 80, Protocol: "tcp"}
	if tcp.HostPort, err = FreePort(tcp, published); err != nil {
		t.Fatal(err)
	}
	udp := PortMapping{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "udp"}
	if udp.HostPort, err = FreePort(udp, published); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Unpublish(a.id); err != nil {
			t.Error(err)
		}
	})
	if err := Publish(a.id, netip.MustParseAddr(a.ep.IP), netip.MustParsePrefix(n.Subnet), []PortMapping{tcp, udp}); err != nil {
		t.Fatal(err)
	}
	hp := strconv.Itoa(int(tcp.HostPort))
	host := hostAddr(n)
	for _, addr := range []string{"127.0.0.1:" + hp, net.JoinHostPort(host, hp)} {
		if err := echo("tcp4", addr); err != nil {
			t.Errorf("tcp from host to %s: %v", addr, err)
		}
	}
	if err := echo("udp4", "127.0.0.1:"+strconv.Itoa(int(udp.HostPort))); err != nil {
		t.Errorf("udp from host: %v", err)
	}
	// Hairpin: same network, another network, and the container itself.
	for name, c := range map[string]container{"same network": b, "other network": x, "itself": a} {
		if err := inNetNS(c.ns, func() error { return echo("tcp4", net.JoinHostPort(host, hp)) }); err != nil {
			t.Errorf("tcp from %s: %v", name, err)
		}
	}

	// Conflicts: our own table and a socket bound by someone else.
	published, err = PublishedPorts()
	if err != nil {
		t.Fatal(err)
	}
	if published[PortMapping{HostPort: tcp.HostPort, Protocol: "tcp"}] != a.id[:12] {
		t.Fatalf("published ports: %v", published)
	}
	if err := Publish(b.id, netip.MustParseAddr(b.ep.IP), netip.MustParsePrefix(n.Subnet), []PortMapping{tcp}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("second publish of %s: %v", tcp.Key(), err)
	}
	if err := CheckPortFree(tcp, published, nil); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("check against our table: %v", err)
	}
	if err := CheckPortFree(tcp, published, map[string]bool{a.id[:12]: true}); err != nil {
		t.Fatalf("own port reported as taken: %v", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := PortMapping{HostPort: uint16(ln.Addr().(*net.TCPAddr).Port), ContainerPort: 80, Protocol: "tcp"}
	if err := CheckPortFree(busy, published, nil); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("check against a bound socket: %v", err)
	}

	if err := Unpublish(a.id); err != nil {
		t.Fatal(err)
	}
	if published, _ := PublishedPorts(); published[PortMapping{HostPort: tcp.HostPort, Protocol: "tcp"}] != "" {
		t.Fatal("port still published after Unpublish")
	}
}

// TestPublishWithForwardDrop adds a FORWARD chain with policy drop to the
// ip filter table, as a firewall or Docker without DOCKER-USER would, and
// checks a network created afterwards still forwards published traffic
// across bridges, and that our accept rules leave with the network. The
// chain accepts every other bridge's traffic so parallel tests are unaffected.
func TestPublishWithForwardDrop(t *testing.T) {
	m := newTestManager(t)
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if ch, _ := forwardAcceptChain(c); ch != nil {
		t.Skip("host already has a forward chain we add rules to")
	}
	filter := &nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4}
	if _, err := c.ListTableOfFamily("filter", nftables.TableFamilyIPv4); err == nil {
		t.Skip("host has an ip filter table already")
	}
	drop := nftables.ChainPolicyDrop
	c.AddTable(filter)
	fwd := c.AddChain(&nftables.Chain{Name: "FORWARD", Table: filter, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	c.AddRule(&nftables.Rule{Table: filter, Chain: fwd, Exprs: accept})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.DelTable(filter)
		if err := c.Flush(); err != nil {
			t.Errorf("remove ip filter: %v", err)
		}
	})
	ctx := t.Context()
	n, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Only our two bridges now meet the drop policy.
	rules, err := c.GetRules(filter, fwd)
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, r := range rules {
		if commentOf(r.UserData) == dockerUserComment(n.Bridge) || commentOf(r.UserData) == dockerUserComment(other.Bridge) {
			ours++
			continue
		}
		c.ReplaceRule(&nftables.Rule{Table: filter, Chain: fwd, Handle: r.Handle, Exprs: join(
			ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpNeq, n.Bridge), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge),
			ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpNeq, other.Bridge), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpNeq, other.Bridge), accept)})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if ours != 4 {
		t.Fatalf("%d accept rules for our bridges in FORWARD, want 4", ours)
	}
	a := connect(t, m, n.Name, "p-a-1")
	x := connect(t, m, other.Name, "p-x-1")
	echoServers(t, a.ns, 80)
	published, err := PublishedPorts()
	if err != nil {
		t.Fatal(err)
	}
	tcp := PortMapping{ContainerPort: 80, Protocol: "tcp"}
	if tcp.HostPort, err = FreePort(tcp, published); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Unpublish(a.id) })
	if err := Publish(a.id, netip.MustParseAddr(a.ep.IP), netip.MustParsePrefix(n.Subnet), []PortMapping{tcp}); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(hostAddr(n), strconv.Itoa(int(tcp.HostPort)))
	if err := inNetNS(x.ns, func() error { return echo("tcp4", addr) }); err != nil {
		t.Fatalf("across bridges with FORWARD drop: %v", err)
	}
	for _, nw := range []*Network{n, other} {
		for _, e := range []container{a, x} {
			_ = m.Disconnect(ctx, nw.Name, e.id)
		}
		if err := m.Remove(ctx, nw.Name); err != nil {
			t.Fatal(err)
		}
	}
	rules, err = c.GetRules(filter, fwd)
	if err != nil {
		t.Fatal(err)
	}
	// Networks of parallel tests may add their own rules meanwhile.
	for _, r := range rules {
		if c := commentOf(r.UserData); c == dockerUserComment(n.Bridge) || c == dockerUserComment(other.Bridge) {
			t.Fatalf("rule %q left in FORWARD after the networks were removed", c)
		}
	}
}
