package networks

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/testutil"
)

// queryFrom asks server for name from inside the namespace ns.
func queryFrom(t *testing.T, ns, server, name string) *dns.Msg {
	t.Helper()
	var resp *dns.Msg
	err := inNetNS(ns, func() (err error) {
		c := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), dns.TypeA)
		resp, _, err = c.Exchange(q, net.JoinHostPort(server, "53"))
		return err
	})
	if err != nil {
		t.Fatalf("query %s @%s: %v", name, server, err)
	}
	return resp
}

// loopbackUpstream serves A 127.0.0.9 for every name on a random
// 127.x.y.z:53 (UDP) and returns that address.
func loopbackUpstream(t *testing.T) string {
	t.Helper()
	b := []byte(randomHex(3))
	addr := fmt.Sprintf("127.%d.%d.%d", 10+b[0]%200, b[1], 2+b[2]%200)
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(addr, "53"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 9)})
		_ = w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return addr
}

// TestDNSScopeLinksUpstreamRestart: a container on two networks resolves
// names of both through its first gateway, one on a single network does
// not see the other; links are the asking container's own names; other
// names go to the upstream; a killed server comes back with ReviveDNS.
// Not parallel: it sets the upstream for the server it starts.
func TestDNSScopeLinksUpstreamRestart(t *testing.T) {
	testutil.RequiresRoot(t) // before the upstream binds port 53
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver "+loopbackUpstream(t)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(UpstreamConfEnv, conf)
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
	app := connect(t, m, n1.Name, "p-app-1", "app")
	if _, err := m.Connect(ctx, app.ns, n2.Name, Endpoint{ContainerID: app.id, ContainerName: "p-app-1", Aliases: []string{"app"},
		Links: map[string]string{"database": "db"}}); err != nil {
		t.Fatal(err)
	}
	db := connect(t, m, n2.Name, "p-db-1", "db")
	lone := connect(t, m, n1.Name, "p-lone-1", "lone")

	if got := answerIPs(queryFrom(t, app.ns, n1.Gateway, "db")); !slices.Equal(got, []string{db.ep.IP}) {
		t.Errorf("db from a container on both networks: %v", got)
	}
	if got := answerIPs(queryFrom(t, app.ns, n1.Gateway, "database")); !slices.Equal(got, []string{db.ep.IP}) {
		t.Errorf("link alias database: %v", got)
	}
	for _, name := range []string{"db", "database"} {
		if resp := queryFrom(t, lone.ns, n1.Gateway, name); resp.Rcode != dns.RcodeNameError {
			t.Errorf("%s from a container not on db's network: %v", name, resp)
		}
	}
	if got := answerIPs(queryFrom(t, lone.ns, n1.Gateway, "upstream.example.test")); !slices.Equal(got, []string{"127.0.0.9"}) {
		t.Errorf("forwarded name: %v", got)
	}

	pid, ok := m.dnsPID()
	if !ok || pid <= 1 {
		t.Fatalf("dns pid %d", pid)
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "dns server to die", func() bool { _, alive := m.dnsPID(); return !alive })
	if err := m.ReviveDNS(ctx); err != nil {
		t.Fatal(err)
	}
	if got := answerIPs(queryFrom(t, app.ns, n1.Gateway, "db")); !slices.Equal(got, []string{db.ep.IP}) {
		t.Errorf("db after the server restarted: %v", got)
	}
}
