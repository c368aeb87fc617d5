package networks

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// EmbeddedDNS is the nameserver containers' resolv.conf names, the
// address of Docker's embedded DNS server.
//
// Docker answers it from inside each container's namespace (iptables
// DNAT to a listener there). Here no netfilter runs in the container's
// namespace (registering its hooks costs milliseconds per container
// start): RedirectDNS routes 127.0.0.11 out of the container to the
// gateway, and the network's table DNATs it there to the DNS server
// (addEmbeddedDNS), which sees the container's own address as source and
// answers for its networks, as before.
const EmbeddedDNS = "127.0.0.11"

var embeddedDNS = netip.MustParseAddr(EmbeddedDNS)

// RedirectDNS makes 127.0.0.11 inside the namespace at nsPath a route to
// gateway through ifName, with the container's address src as source. The
// replies come back from 127.0.0.11 (un-DNATed), which the kernel accepts
// on ifName only with route_localnet.
func RedirectDNS(nsPath, ifName string, gateway, src netip.Addr) error {
	if !gateway.Is4() || !src.Is4() {
		return fmt.Errorf("dns gateway %s, source %s: %w", gateway, src, errdefs.ErrInvalidArgument)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("netns %s: %w", nsPath, errdefs.ErrNotFound)
	}
	defer ns.Close()
	if err := withNetNS(ns, func() error {
		return writeSysctl(filepath.Join("net/ipv4/conf", ifName, "route_localnet"), "1")
	}); err != nil {
		return err
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	link, err := h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", ifName, nsPath, err)
	}
	// In the local table, where a /32 wins over lo's 127.0.0.0/8.
	route := &netlink.Route{
		Dst:       &net.IPNet{IP: embeddedDNS.AsSlice(), Mask: net.CIDRMask(32, 32)},
		Gw:        gateway.AsSlice(),
		Src:       src.AsSlice(),
		LinkIndex: link.Attrs().Index,
		Table:     unix.RT_TABLE_LOCAL,
	}
	if err := h.RouteReplace(route); err != nil {
		return fmt.Errorf("route to %s in %s: %w", EmbeddedDNS, nsPath, err)
	}
	return nil
}

// addEmbeddedDNS DNATs what containers send to 127.0.0.11:53 through the
// bridge to the DNS server on the gateway (table t, family ip).
func addEmbeddedDNS(c *nftables.Conn, t *nftables.Table, bridge string, gateway netip.Addr) {
	accept := nftables.ChainPolicyAccept
	pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		dnat := []expr.Any{
			&expr.Immediate{Register: 1, Data: gateway.AsSlice()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(53)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: join(
			ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge), ipMatch(16, netip.PrefixFrom(embeddedDNS, 32)), dnsMatch(proto), dnat)})
	}
}

// withNetNS runs fn on a thread switched into ns (for the per-namespace
// /proc/sys/net). If the switch back fails the thread stays locked, so Go
// retires it rather than run other goroutines in ns.
func withNetNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns: %w", err)
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
