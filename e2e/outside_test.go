package e2e

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// outside is a stand-in for the world beyond the host: a network namespace
// joined to the host by a veth pair on a /30 the test picks, with nothing
// routed back to the host's bridges. Traffic from a container only comes
// back if the host masqueraded it.
type outside struct {
	ns       netns.NsHandle
	hostIP   netip.Addr // the host's end of the veth
	ip       netip.Addr // the namespace's end
	hostVeth string

	hostIP6, ip6 netip.Addr // after addIPv6
}

// addIPv6 puts a random ULA /64 on the veth pair (no DAD, so it is usable
// at once).
func (o *outside) addIPv6(t *testing.T) {
	t.Helper()
	var a [16]byte
	a[0] = 0xfd
	_, _ = rand.Read(a[1:8])
	o.hostIP6 = netip.AddrFrom16(a).Next()
	o.ip6 = o.hostIP6.Next()
	host, err := netlink.LinkByName(o.hostVeth)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: prefixNet(o.hostIP6, 64), Flags: unix.IFA_F_NODAD}); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(o.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	peer, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: prefixNet(o.ip6, 64), Flags: unix.IFA_F_NODAD}); err != nil {
		t.Fatal(err)
	}
}

// newOutside creates the namespace and veth pair; t.Cleanup removes both.
func newOutside(t *testing.T) *outside {
	t.Helper()
	o := &outside{}
	o.hostIP, o.ip = freeSlash30(t)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	o.ns, err = netns.New() // switches this thread into the new namespace
	if serr := netns.Set(orig); serr != nil {
		// The thread is in the wrong namespace: never unlock it, so the
		// runtime discards it.
		t.Fatalf("back to the host netns: %v", serr)
	}
	orig.Close()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.ns.Close() })

	b := make([]byte, 3)
	_, _ = rand.Read(b)
	o.hostVeth = fmt.Sprintf("vout%x", b)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: o.hostVeth}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(o.ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("veth: %v", err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(o.hostVeth); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	host, err := netlink.LinkByName(o.hostVeth)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: prefixNet(o.hostIP, 30)}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(o.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	peer, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: prefixNet(o.ip, 30)}); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	return o
}

func prefixNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

// listen opens a socket inside the namespace (a socket stays in the
// namespace it was created in, whatever thread later uses it).
func (o *outside) listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	o.do(t, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	t.Cleanup(func() { ln.Close() })
	return ln
}

func (o *outside) listenPacket(t *testing.T, network, addr string) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	o.do(t, func() error {
		var err error
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	t.Cleanup(func() { pc.Close() })
	return pc
}

func (o *outside) do(t *testing.T, fn func() error) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	if err := netns.Set(o.ns); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		t.Fatalf("back to the host netns: %v", err) // thread stays locked: discarded
	}
	runtime.UnlockOSThread()
	if ferr != nil {
		t.Fatal(ferr)
	}
}

// serveSourceAddr answers every HTTP request with the client's address as
// the server saw it.
func (o *outside) serveSourceAddr(t *testing.T) string {
	return o.serveSourceAddrOn(t, o.ip)
}

func (o *outside) serveSourceAddrOn(t *testing.T, ip netip.Addr) string {
	ln := o.listen(t, "tcp", net.JoinHostPort(ip.String(), "0"))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, host)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// freeSlash30 picks 10.250.x.y/30 that overlaps no address or route on the
// host, and returns its two host addresses.
func freeSlash30(t *testing.T) (netip.Addr, netip.Addr) {
	t.Helper()
	var used []netip.Prefix
	addrs, _ := netlink.AddrList(nil, netlink.FAMILY_V4)
	for _, a := range addrs {
		if p, ok := toPrefix(a.IPNet); ok {
			used = append(used, p)
		}
	}
	routes, _ := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	for _, r := range routes {
		if p, ok := toPrefix(r.Dst); ok && p.Bits() > 0 {
			used = append(used, p)
		}
	}
	for range 100 {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, b[0], b[1] &^ 3}), 30)
		free := true
		for _, u := range used {
			free = free && !p.Overlaps(u)
		}
		if free {
			return p.Addr().Next(), p.Addr().Next().Next()
		}
	}
	t.Fatal("no free /30 in 10.250.0.0/16")
	return netip.Addr{}, netip.Addr{}
}

func toPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones).Masked(), true
}
