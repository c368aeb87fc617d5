package e2e

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
	"github.com/composer-dev/compose/networks"
)

// TestPortRangeReplicas: a host port range published by a scaled service
// gives each replica its own port from the range.
//
// Docker Compose passes the range to the engine for every container
// (pkg/compose/create.go, buildContainerPortBindingOptions), and the
// engine's port allocator gives each container a free port of it when it
// starts (moby, daemon/libnetwork/portallocator), so
// `"6005-6015:80"` with 5 replicas publishes 5 different ports.
func TestPortRangeReplicas(t *testing.T) {
	first := reservePorts(t, 11)
	c := projectCLI(t, "prange", fmt.Sprintf(`
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
    stop_signal: SIGKILL
    scale: 5
    ports:
      - "127.0.0.1:%d-%d:80"
`, first, first+10))
	c.must("up", "-d")
	seen := map[string]bool{}
	for i := 1; i <= 5; i++ {
		addr := strings.TrimSpace(c.must("port", "--index", fmt.Sprint(i), "web", "80").stdout)
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("port --index %d: %q", i, addr)
		}
		if seen[port] {
			t.Errorf("replica %d publishes %s, already taken by another replica", i, addr)
		}
		seen[port] = true
		var p int
		fmt.Sscan(port, &p)
		if p < first || p > first+10 {
			t.Errorf("replica %d publishes %s, outside %d-%d", i, addr, first, first+10)
		}
		var body string
		testutil.Eventually(t, 10*time.Second, "GET "+addr, func() bool {
			body, err = httpGet(addr)
			return err == nil
		})
		if body == "" {
			t.Errorf("replica %d at %s: empty answer", i, addr)
		}
	}
}

// TestPublishedPortsHeld: while a port is published, its host socket is
// held (no other program can bind it), and a port published without a
// host address answers on IPv6 too, `localhost` as ::1 (one published on
// 0.0.0.0 does not); after `down` it is free.
//
// Docker's userland proxy (moby, cmd/docker-proxy) listens on the host
// address of each published port, [::] included for a port published
// without an address ("the default is to make the container's port
// available on all host addresses, IPv4 and IPv6", Docker's bridge driver
// docs since Engine 27), and relays to the container (over IPv4 when the
// container has no IPv6 address, moby/libnetwork#2608).
func TestPublishedPortsHeld(t *testing.T) {
	hp, v4 := reservePorts(t, 1), reservePorts(t, 1)
	c := projectCLI(t, "pheld", fmt.Sprintf(`
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir /www && echo held > /www/index.html && exec httpd -f -p 80 -h /www"]
    stop_signal: SIGKILL
    ports: ["%d:80", "0.0.0.0:%d:80"]
`, hp, v4))
	c.must("up", "-d")
	addr := fmt.Sprintf("127.0.0.1:%d", hp)
	testutil.Eventually(t, 10*time.Second, "GET "+addr, func() bool { b, err := httpGet(addr); return err == nil && b == "held" })
	for _, network := range []string{"tcp4", "tcp6"} {
		host := "0.0.0.0"
		if network == "tcp6" {
			host = "::"
		}
		l, err := net.Listen(network, net.JoinHostPort(host, fmt.Sprint(hp)))
		if err == nil {
			l.Close()
			t.Errorf("another program could listen on %s port %d while it is published", network, hp)
		} else if !errors.Is(err, syscall.EADDRINUSE) && network == "tcp4" {
			t.Errorf("listen on the published port: %v", err)
		}
	}
	if hasIPv6Loopback() {
		v6 := fmt.Sprintf("[::1]:%d", hp)
		if b, err := httpGet(v6); err != nil || b != "held" {
			t.Errorf("GET %s = %q, %v", v6, b, err)
		}
		l, err := net.Listen("tcp6", fmt.Sprintf("[::]:%d", v4))
		if err != nil {
			t.Errorf("0.0.0.0:%d:80 holds [::]:%d too: %v", v4, v4, err)
		} else {
			l.Close()
		}
	}
	c.must("down", "-t", "0")
	if !portFree(hp) {
		t.Errorf("port %d still bound after down", hp)
	}
}

func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// TestEmbeddedDNSAddress: containers' resolv.conf names 127.0.0.11, and
// queries there (UDP and TCP) reach the embedded DNS server, which answers
// with the names of the asking container's networks only.
//
// Docker writes "nameserver 127.0.0.11" for containers on user-defined
// networks and redirects 127.0.0.11:53 inside the container's namespace
// to its embedded server (moby, libnetwork/resolver_unix.go: DNAT rules
// for udp and tcp in the container's iptables); the server answers from
// the networks the container is on (libnetwork/sandbox_dns_unix.go).
func TestEmbeddedDNSAddress(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
  back:
    image: busybox
    command: [sleep, "600"]
    stop_signal: SIGKILL
    networks: [back]
networks:
  back: {}
`)
	c.must("up", "-d")
	if got := c.must("exec", "web", "cat", "/etc/resolv.conf").stdout; !strings.HasPrefix(got, "nameserver 127.0.0.11\n") {
		t.Errorf("resolv.conf:\n%s", got)
	}
	if out := c.must("exec", "web", "nslookup", "web").stdout; !strings.Contains(out, "Server:\t\t127.0.0.11") && !strings.Contains(out, "127.0.0.11:53") {
		t.Errorf("nslookup web did not ask 127.0.0.11:\n%s", out)
	}
	ns := filepath.Join(engine.RunDir(c.root), "netns", c.idOf("web")[:12])
	for _, proto := range []string{"udp", "tcp"} {
		r := queryIn(t, ns, proto, "web")
		if r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Errorf("%s query for web at 127.0.0.11: %v", proto, r)
		}
		if r := queryIn(t, ns, proto, "back"); r == nil || len(r.Answer) != 0 {
			t.Errorf("%s query for back (another network) answered: %v", proto, r)
		}
	}
}

// queryIn asks 127.0.0.11:53 for name's A records from inside the network
// namespace at path.
func queryIn(t *testing.T, path, proto, name string) *dns.Msg {
	t.Helper()
	type result struct {
		m   *dns.Msg
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			done <- result{err: err}
			return
		}
		q := new(dns.Msg)
		q.SetQuestion(name+".", dns.TypeA)
		cl := &dns.Client{Net: proto, Timeout: 3 * time.Second}
		m, _, err := cl.Exchange(q, networks.EmbeddedDNS+":53")
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // else the thread stays locked and is discarded
		}
		done <- result{m, err}
	}()
	r := <-done
	if r.err != nil {
		t.Errorf("%s query for %s in %s: %v", proto, name, path, r.err)
	}
	return r.m
}
