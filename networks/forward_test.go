package networks

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// fakeUpstream serves on 127.0.0.1 over UDP and TCP on the same port; over
// UDP it only says "truncated", so an answer proves the TCP retry.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	for i := 0; i < 20 && pc == nil; i++ {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p, err := net.ListenPacket("udp4", l.Addr().String())
		if err != nil {
			l.Close()
			continue
		}
		ln, pc = l, p
	}
	if pc == nil {
		t.Fatal("no free port pair")
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if w.LocalAddr().Network() == "udp" {
			m.Truncated = true
		} else {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 9)})
		}
		_ = w.WriteMsg(m)
	})
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return ln.Addr().String()
}

func TestForwardRetriesTruncatedOverTCP(t *testing.T) {
	s := &dnsServer{}
	ups := []string{"127.0.0.1:1", fakeUpstream(t)} // the first one refuses
	s.upstreams.Store(&ups)
	req := new(dns.Msg)
	req.SetQuestion("upstream.example.test.", dns.TypeA)
	resp := s.forward(req, false, nil)
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 || resp.Truncated || resp.Id != req.Id {
		t.Fatalf("forward: %v", resp)
	}
}

func TestForwardNoUpstream(t *testing.T) {
	s := &dnsServer{}
	req := new(dns.Msg)
	req.SetQuestion("upstream.example.test.", dns.TypeA)
	if resp := s.forward(req, false, nil); resp.Rcode != dns.RcodeServerFailure {
		t.Fatalf("want SERVFAIL, got %v", resp)
	}
}

// A container's own dns servers replace the host's resolvers entirely.
func TestForwardToContainerDNS(t *testing.T) {
	s := &dnsServer{}
	host := []string{"127.0.0.1:1"} // refuses: only the container's server answers
	s.upstreams.Store(&host)
	req := new(dns.Msg)
	req.SetQuestion("upstream.example.test.", dns.TypeA)
	if resp := s.forward(req, true, []string{fakeUpstream(t)}); resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
		t.Fatalf("forward to the container's server: %v", resp)
	}
	rs := buildRecords(&Network{Name: "n", Subnet: "10.9.0.0/24", Endpoints: []Endpoint{
		{ContainerID: "c1", ContainerName: "p-a-1", IP: "10.9.0.2", DNS: []string{"192.0.2.53", "bogus"}},
		{ContainerID: "c2", ContainerName: "p-b-1", IP: "10.9.0.3"},
	}})
	if got := rs.dns["c1"]; len(got) != 1 || got[0] != "192.0.2.53:53" {
		t.Errorf("c1 upstreams %v", got)
	}
	if got := rs.dns["c2"]; got != nil {
		t.Errorf("c2 upstreams %v, want the host's", got)
	}
}

// On the default bridge (network_mode: bridge) no container or alias has a
// name, as on Docker's default bridge network, which has no embedded DNS
// names; its containers' other queries are still forwarded.
func TestDefaultBridgeHasNoNames(t *testing.T) {
	rs := buildRecords(&Network{Name: "bridge", Subnet: "10.9.0.0/24", DefaultBridge: true, Endpoints: []Endpoint{
		{ContainerID: "c1aaaaaaaaaaaa", ContainerName: "p-a-1", Aliases: []string{"a"}, IP: "10.9.0.2"},
	}})
	if len(rs.names) != 0 {
		t.Errorf("names on the default bridge: %v", rs.names)
	}
	if !rs.has("c1aaaaaaaaaaaa") {
		t.Errorf("the container's queries must still be served (forwarded)")
	}
}
