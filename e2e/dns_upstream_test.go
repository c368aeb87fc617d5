package e2e

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/composer-dev/compose/internal/testutil"
)

const dnsUpstreamStack = `
services:
  own:
    image: busybox
    command: ["sleep", "1000"]
    dns: [%s]
  hosts:
    image: busybox
    command: ["sleep", "1000"]
`

// TestServiceDNSUpstream: a service's dns servers are the embedded DNS's
// upstreams for that service only; resolv.conf names just the embedded
// server, and service names still resolve. The servers listen on loopback,
// which only the host side (the embedded DNS) can reach.
func TestServiceDNSUpstream(t *testing.T) {
	testutil.RequiresRoot(t)
	own := loopbackDNS(t, "192.0.2.77")
	host := loopbackDNS(t, "192.0.2.88")
	c := projectCLI(t, "dnsup", fmt.Sprintf(dnsUpstreamStack, own))
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver "+host+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "COMPOSE_DNS_UPSTREAM_CONF="+conf)
	c.must("up", "-d")

	lookup := func(service, name string) string {
		r := c.run("exec", service, "nslookup", name)
		return r.stdout + r.stderr
	}
	if out := lookup("own", "probe.outside.test"); !strings.Contains(out, "192.0.2.77") {
		t.Errorf("own (dns: %s) got:\n%s", own, out)
	}
	if out := lookup("hosts", "probe.outside.test"); !strings.Contains(out, "192.0.2.88") || strings.Contains(out, "192.0.2.77") {
		t.Errorf("hosts (no dns:) got:\n%s", out)
	}
	if out := lookup("own", "hosts"); !strings.Contains(out, "Address") || strings.Contains(out, "192.0.2.") {
		t.Errorf("own does not resolve the service hosts:\n%s", out)
	}
	if got := c.must("exec", "own", "cat", "/etc/resolv.conf").stdout; !strings.HasPrefix(got, "nameserver 127.0.0.11\n") || strings.Count(got, "nameserver") != 1 {
		t.Errorf("resolv.conf:\n%s", got)
	}
}

// loopbackDNS answers A <answer> for every name, on port 53 of a random
// 127/8 address, and returns that address.
func loopbackDNS(t *testing.T, answer string) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
				A: net.ParseIP(answer)})
		}
		_ = w.WriteMsg(m)
	})
	for range 20 {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		addr := fmt.Sprintf("127.%d.%d.%d", b[0], b[1], 1+b[2]%250)
		pc, err := net.ListenPacket("udp4", addr+":53")
		if err != nil {
			continue
		}
		ln, err := net.Listen("tcp4", addr+":53")
		if err != nil {
			pc.Close()
			continue
		}
		udp := &dns.Server{PacketConn: pc, Handler: h}
		tcp := &dns.Server{Listener: ln, Handler: h}
		go udp.ActivateAndServe()
		go tcp.ActivateAndServe()
		t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
		return addr
	}
	t.Fatal("no free loopback address for a DNS server")
	return ""
}
