package networks

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/composer-dev/compose/errdefs"
)

// TestRedirectDNS: in a namespace with RedirectDNS, 127.0.0.11:53 over
// UDP and TCP reaches the DNS server on the gateway, which sees the
// container's own address (it answers db, a name of its network). Not
// parallel: a network it removes may give its subnet to another test's
// network while its DNS server still holds the gateway's port.
func TestRedirectDNS(t *testing.T) {
	m := newTestManager(t)
	n, err := m.Ensure(t.Context(), uniqueName(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureDNS(t.Context()); err != nil {
		t.Fatal(err)
	}
	db := connect(t, m, n.Name, "p-db-1", "db")
	if err := RedirectDNS(db.ns, db.ep.IfName, netip.MustParseAddr(n.Gateway), netip.MustParseAddr(db.ep.IP)); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"udp", "tcp"} {
		var got []string
		err := inNetNS(db.ns, func() error {
			c := &dns.Client{Net: proto, Timeout: 3 * time.Second}
			q := new(dns.Msg)
			q.SetQuestion("db.", dns.TypeA)
			resp, _, err := c.Exchange(q, EmbeddedDNS+":53")
			if err == nil {
				got = answerIPs(resp)
			}
			return err
		})
		if err != nil || !slices.Equal(got, []string{db.ep.IP}) {
			t.Errorf("%s db @127.0.0.11 = %v, %v; want %s", proto, got, err, db.ep.IP)
		}
	}
}

// TestPortHolder: a held port can not be bound by anyone else, relays to
// the target over IPv4 and (published on every address) IPv6, a second
// hold of it is ErrConflict, and release frees it.
func TestPortHolder(t *testing.T) {
	t.Parallel()
	backend := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "relayed") })}
	bl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(bl)
	t.Cleanup(func() { backend.Close() })
	target := bl.Addr().(*net.TCPAddr)

	h := newPortHolder(t.TempDir())
	t.Cleanup(h.closeAll)
	// A free port, as the kernel sees it, may be taken before we hold it:
	// try another then.
	var m PortMapping
	for try := 0; ; try++ {
		free, err := net.Listen("tcp4", ":0")
		if err != nil {
			t.Fatal(err)
		}
		m = PortMapping{HostPort: uint16(free.Addr().(*net.TCPAddr).Port), ContainerPort: uint16(target.Port), Protocol: "tcp"}
		free.Close()
		err = h.hold(holdRequest{ID: strings.Repeat("a", 64), Target: "127.0.0.1", Ports: []PortMapping{m}})
		if err == nil {
			break
		}
		if !errors.Is(err, errdefs.ErrConflict) || try == 10 {
			t.Fatal(err)
		}
	}
	port := m.HostPort
	if l, err := net.Listen("tcp4", fmt.Sprintf(":%d", port)); err == nil {
		l.Close()
		t.Fatal("a held port could be bound")
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		if host == "::1" && !hasIPv6() {
			continue
		}
		resp, err := http.Get("http://" + net.JoinHostPort(host, fmt.Sprint(port)) + "/")
		if err != nil {
			t.Errorf("through %s: %v", host, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "relayed" {
			t.Errorf("through %s: %q", host, body)
		}
	}
	checkUDPRelay(t, h)
	other := newPortHolder(t.TempDir())
	t.Cleanup(other.closeAll)
	err = other.hold(holdRequest{ID: strings.Repeat("b", 64), Target: "127.0.0.1", Ports: []PortMapping{m}})
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "port is already allocated") {
		t.Errorf("second hold: %v", err)
	}
	h.release(strings.Repeat("a", 64))
	l, err := net.Listen("tcp4", fmt.Sprintf(":%d", port))
	if err != nil {
		t.Fatalf("released port: %v", err)
	}
	l.Close()
}

func hasIPv6() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// checkUDPRelay holds a UDP port relaying to an echo server and checks a
// datagram comes back through it, over IPv4 and IPv6.
func checkUDPRelay(t *testing.T, h *portHolder) {
	t.Helper()
	echo, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], from)
		}
	}()
	var m PortMapping
	for try := 0; ; try++ {
		free, err := net.ListenPacket("udp4", ":0")
		if err != nil {
			t.Fatal(err)
		}
		m = PortMapping{HostPort: uint16(free.LocalAddr().(*net.UDPAddr).Port), ContainerPort: uint16(echo.LocalAddr().(*net.UDPAddr).Port), Protocol: "udp"}
		free.Close()
		err = h.hold(holdRequest{ID: strings.Repeat("c", 64), Target: "127.0.0.1", Ports: []PortMapping{m}})
		if err == nil {
			break
		}
		if !errors.Is(err, errdefs.ErrConflict) || try == 10 {
			t.Fatal(err)
		}
	}
	defer h.release(strings.Repeat("c", 64))
	for _, host := range []string{"127.0.0.1", "::1"} {
		if host == "::1" && !hasIPv6() {
			continue
		}
		c, err := net.Dial("udp", net.JoinHostPort(host, fmt.Sprint(m.HostPort)))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 16)
		_, err = c.Write([]byte("ping"))
		n := 0
		if err == nil {
			n, err = c.Read(buf)
		}
		c.Close()
		if err != nil || string(buf[:n]) != "ping" {
			t.Errorf("udp through %s: %q, %v", host, buf[:n], err)
		}
	}
}
