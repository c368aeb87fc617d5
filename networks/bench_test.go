package networks

import (
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkDNSServiceName measures one A query for a service name (two
// replicas) from inside a container to the embedded server, and reports
// the p50 and p99 latency.
func BenchmarkDNSServiceName(b *testing.B) {
	m := newTestManager(b)
	ctx := b.Context()
	n, err := m.Ensure(ctx, uniqueName(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.EnsureDNS(ctx); err != nil {
		b.Fatal(err)
	}
	connect(b, m, n.Name, "p-web-1", "web")
	connect(b, m, n.Name, "p-web-2", "web")
	client := connect(b, m, n.Name, "p-client-1", "client")
	lat := make([]time.Duration, 0, b.N)
	err = inNetNS(client.ns, func() error {
		c := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
		conn, err := c.Dial(net.JoinHostPort(n.Gateway, "53"))
		if err != nil {
			return err
		}
		defer conn.Close()
		q := new(dns.Msg)
		q.SetQuestion("web.", dns.TypeA)
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			resp, _, err := c.ExchangeWithConn(q, conn)
			if err != nil {
				return err
			}
			if len(resp.Answer) != 2 {
				b.Fatalf("answer %v", resp.Answer)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkTCPThroughput streams data to a container's sink directly to
// its address and through a published port on 127.0.0.1; compare MB/s.
func BenchmarkTCPThroughput(b *testing.B) {
	m := newTestManager(b)
	ctx := b.Context()
	n, err := m.Ensure(ctx, uniqueName(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	sink := connect(b, m, n.Name, "p-sink-1", "sink")
	var ln net.Listener
	if err := inNetNS(sink.ns, func() (err error) { ln, err = net.Listen("tcp4", ":9000"); return err }); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	published, err := PublishedPorts()
	if err != nil {
		b.Fatal(err)
	}
	pm := PortMapping{HostIP: "127.0.0.1", ContainerPort: 9000, Protocol: "tcp"}
	if pm.HostPort, err = FreePort(pm, published); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = Unpublish(sink.id) })
	if err := Publish(sink.id, netip.MustParseAddr(sink.ep.IP), netip.MustParsePrefix(n.Subnet), []PortMapping{pm}); err != nil {
		b.Fatal(err)
	}
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	for name, addr := range map[string]string{
		"direct":    net.JoinHostPort(sink.ep.IP, "9000"),
		"published": net.JoinHostPort("127.0.0.1", strconv.Itoa(int(pm.HostPort))),
	} {
		b.Run(name, func(b *testing.B) {
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
