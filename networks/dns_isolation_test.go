package networks

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/composer-dev/compose/errdefs"
)

// exchangeFrom sends one A query for name to server:53 over UDP from inside
// the namespace ns ("" for the host's own namespace).
func exchangeFrom(ns, server, name string, timeout time.Duration) (*dns.Msg, error) {
	return exchangeOver("udp", ns, server, name, timeout)
}

// exchangeOver is exchangeFrom over proto (udp or tcp).
func exchangeOver(proto, ns, server, name string, timeout time.Duration) (*dns.Msg, error) {
	var resp *dns.Msg
	ask := func() (err error) {
		c := &dns.Client{Net: proto, Timeout: timeout}
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), dns.TypeA)
		resp, _, err = c.Exchange(q, net.JoinHostPort(server, "53"))
		return err
	}
	if ns == "" {
		return resp, ask()
	}
	return resp, inNetNS(ns, ask)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestDNSAnswersOnlyItsNetworks: two networks of one state root and one of
// another (its own DNS server). Each container resolves its network's names
// on its gateway; a query to the gateway of a network it is not on is
// dropped (nftables), whichever state root that network belongs to; and the
// server gives names only to containers of the network asked on: the host
// asking a gateway directly is refused.
func TestDNSAnswersOnlyItsNetworks(t *testing.T) {
	t.Parallel()
	m1, m2 := newTestManager(t), newTestManager(t)
	ctx := t.Context()
	var nets []*Network
	for _, m := range []*Manager{m1, m1, m2} {
		n, err := m.Ensure(ctx, uniqueName(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	for _, m := range []*Manager{m1, m2} {
		if err := m.EnsureDNS(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := nets[0], nets[1], nets[2]
	ca := connect(t, m1, a.Name, "pa-web-1", "aweb")
	cb := connect(t, m1, b.Name, "pb-web-1", "bweb")
	cc := connect(t, m2, c.Name, "pc-web-1", "cweb")

	for _, own := range []struct {
		ctr        container
		gw, name   string
		otherNames []string
	}{{ca, a.Gateway, "aweb", []string{"bweb", "pb-web-1", "cweb"}}, {cb, b.Gateway, "bweb", []string{"aweb", "cweb"}}, {cc, c.Gateway, "cweb", []string{"aweb", "bweb"}}} {
		resp, err := exchangeFrom(own.ctr.ns, own.gw, own.name, 3*time.Second)
		if err != nil || !slices.Equal(answerIPs(resp), []string{own.ctr.ep.IP}) {
			t.Errorf("%s from its own container on %s: %v %v", own.name, own.gw, resp, err)
		}
		for _, other := range own.otherNames {
			resp, err := exchangeFrom(own.ctr.ns, own.gw, other, 3*time.Second)
			if err != nil || resp.Rcode != dns.RcodeNameError || len(resp.Answer) > 0 {
				t.Errorf("%s asked for %s of another network on its own gateway: %v %v", own.name, other, resp, err)
			}
		}
	}
	for _, cross := range []struct {
		what     string
		from     container
		gw, name string
	}{
		{"same root, another network", ca, b.Gateway, "bweb"},
		{"same root, another network", cb, a.Gateway, "aweb"},
		{"another root", cc, b.Gateway, "bweb"},
		{"another root", ca, c.Gateway, "cweb"},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			resp, err := exchangeOver(proto, cross.from.ns, cross.gw, cross.name, time.Second)
			switch {
			case err == nil:
				t.Errorf("%s: %s asked %s on %s over %s and got an answer: %v", cross.what, cross.from.ep.ContainerName, cross.name, cross.gw, proto, resp)
			case !isTimeout(err):
				t.Errorf("%s: %s asked %s on %s over %s: %v, want the query dropped", cross.what, cross.from.ep.ContainerName, cross.name, cross.gw, proto, err)
			}
		}
	}
	// The host reaches the gateway (nftables lets it), but it is no
	// container of the network: no names, no forwarding.
	resp, err := exchangeFrom("", b.Gateway, "bweb", 3*time.Second)
	if err != nil || resp.Rcode != dns.RcodeRefused || len(resp.Answer) > 0 {
		t.Errorf("the host asking %s for bweb: %v %v, want REFUSED", b.Gateway, resp, err)
	}
	resp, err = exchangeFrom("", b.Gateway, "example.com", 3*time.Second)
	if err != nil || resp.Rcode != dns.RcodeRefused {
		t.Errorf("the host asking %s for an outside name: %v %v, want REFUSED", b.Gateway, resp, err)
	}
}

// TestDNSListenFailureIsAnError: when another program holds the DNS port
// on a network's gateway, EnsureDNS fails at once with an error naming the
// network (a conflict) instead of waiting out its timeout; once the port
// is free, the server listens there.
func TestDNSListenFailureIsAnError(t *testing.T) {
	t.Parallel()
	m := newTestManager(t)
	n, err := m.Ensure(t.Context(), uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	blocker, err := net.ListenPacket("udp4", net.JoinHostPort(n.Gateway, "53"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blocker.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 12*time.Second)
	defer cancel()
	start := time.Now()
	err = m.EnsureDNS(ctx)
	took := time.Since(start)
	if err == nil {
		t.Fatal("EnsureDNS succeeded while another socket holds the gateway's port 53")
	}
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), n.Name) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("EnsureDNS: %v, want a conflict naming %s and the bind error", err, n.Name)
	}
	if took > 5*time.Second {
		t.Errorf("EnsureDNS took %v to fail", took)
	}
	blocker.Close()
	if err := m.EnsureDNS(t.Context()); err != nil {
		t.Fatalf("EnsureDNS once the port is free: %v", err)
	}
	web := connect(t, m, n.Name, "p-web-1", "web")
	if resp, err := exchangeFrom(web.ns, n.Gateway, "web", 3*time.Second); err != nil || !slices.Equal(answerIPs(resp), []string{web.ep.IP}) {
		t.Fatalf("web from its container: %v %v", resp, err)
	}
}

// TestStaleNetworkKeepsItsSubnet: a network whose bridge vanished (a
// crash), still on record and served by its DNS server, keeps its subnet:
// another state root is refused that subnet (a conflict naming the
// network) and picks another; the owner repairs its bridge, and the DNS
// server answers on the new bridge.
func TestStaleNetworkKeepsItsSubnet(t *testing.T) {
	t.Parallel()
	m1, m2 := newTestManager(t), newTestManager(t)
	ctx := t.Context()
	n1, err := m1.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.EnsureDNS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := deleteBridge(n1.Bridge); err != nil {
		t.Fatal(err)
	}
	_, err = m2.EnsureWith(ctx, uniqueName(t), Options{Subnet: n1.Subnet})
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), n1.Name) {
		t.Fatalf("another root asking for the subnet %s of %s: %v, want a conflict naming it", n1.Subnet, n1.Name, err)
	}
	n2, err := m2.Ensure(ctx, uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n2.Subnet == n1.Subnet {
		t.Fatalf("another root was given %s, the subnet of %s", n2.Subnet, n1.Name)
	}
	if _, err := m1.Ensure(ctx, n1.Name, nil); err != nil {
		t.Fatal(err)
	}
	if err := m1.EnsureDNS(ctx, n1.Name); err != nil {
		t.Fatal(err)
	}
	web := connect(t, m1, n1.Name, "p-web-1", "web")
	if resp, err := exchangeFrom(web.ns, n1.Gateway, "web", 3*time.Second); err != nil || !slices.Equal(answerIPs(resp), []string{web.ep.IP}) {
		t.Fatalf("web on the repaired bridge: %v %v", resp, err)
	}
}
