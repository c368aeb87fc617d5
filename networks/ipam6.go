package networks

import (
	"crypto/rand"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/errdefs"
)

// randomULA64 is a random /64 of fd00::/8 (RFC 4193's global ID and a
// zero subnet ID), as Docker picks for enable_ipv6 without a subnet.
func randomULA64() netip.Prefix {
	var a [16]byte
	a[0] = 0xfd
	_, _ = rand.Read(a[1:6])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// hostSubnets6 lists the IPv6 prefixes assigned or routed on the host
// (link-local and default routes left out).
func hostSubnets6() ([]netip.Prefix, error) {
	var out []netip.Prefix
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, a := range addrs {
		if p, ok := toPrefix6(a.IPNet); ok {
			out = append(out, p)
		}
	}
	for _, r := range routes {
		if p, ok := toPrefix6(r.Dst); ok && p.Bits() > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

func toPrefix6(n interface{ String() string }) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(n.String())
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().IsLinkLocalUnicast() {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// pickSubnet6 is the requested subnet (which must not overlap used) or a
// random ULA /64 that overlaps nothing.
func pickSubnet6(name, want string, used []netip.Prefix) (netip.Prefix, error) {
	if want != "" {
		p := netip.MustParsePrefix(want).Masked() // checked by ValidateOptions
		for _, u := range used {
			if p.Overlaps(u) {
				return netip.Prefix{}, fmt.Errorf("network %q: subnet %s overlaps %s, already in use on this host: %w", name, p, u, errdefs.ErrConflict)
			}
		}
		return p, nil
	}
next:
	for range 100 {
		p := randomULA64()
		for _, u := range used {
			if p.Overlaps(u) {
				continue next
			}
		}
		return p, nil
	}
	return netip.Prefix{}, fmt.Errorf("network %q: no free IPv6 subnet: %w", name, errdefs.ErrFailedPrecondition)
}

// maxScan6 bounds the search for a free IPv6 address: a /64 is never
// full, only its low addresses are handed out.
const maxScan6 = 1 << 16

// freeIP6 is the lowest host address of subnet after the gateway that is
// not in used.
func freeIP6(subnet netip.Prefix, used []netip.Addr) (netip.Addr, error) {
	taken := make(map[netip.Addr]bool, len(used))
	for _, u := range used {
		taken[u] = true
	}
	a := subnet.Masked().Addr().Next()
	for i := 0; i < maxScan6 && subnet.Contains(a); i, a = i+1, a.Next() {
		if !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: no free address: %w", subnet, errdefs.ErrFailedPrecondition)
}

// checkStaticIP6 validates an ipv6_address against the subnet.
func checkStaticIP6(subnet netip.Prefix, ip netip.Addr, used []netip.Addr) error {
	if !ip.Is6() || ip.Is4In6() || !subnet.Contains(ip) || ip == subnet.Masked().Addr() {
		return fmt.Errorf("address %s not usable in %s: %w", ip, subnet, errdefs.ErrInvalidArgument)
	}
	for _, u := range used {
		if u == ip {
			return fmt.Errorf("address %s: %w", ip, errdefs.ErrConflict)
		}
	}
	return nil
}

// validateIPv6 checks the IPv6 part of a new network's options.
func validateIPv6(o Options, bad func(string, ...any) error) error {
	if !o.EnableIPv6 {
		if o.Subnet6 != "" || o.Gateway6 != "" {
			return bad("an IPv6 subnet needs enable_ipv6: true")
		}
		return nil
	}
	if o.Subnet6 == "" {
		if o.Gateway6 != "" {
			return bad("an IPv6 gateway needs an IPv6 subnet")
		}
		return nil
	}
	subnet, err := netip.ParsePrefix(o.Subnet6)
	if err != nil || !subnet.Addr().Is6() || subnet.Addr().Is4In6() || subnet.Bits() > 126 {
		return bad("subnet %q (an IPv6 prefix of /126 or wider)", o.Subnet6)
	}
	if o.Gateway6 != "" {
		gw, err := netip.ParseAddr(o.Gateway6)
		if err != nil || !subnet.Contains(gw) || gw == subnet.Masked().Addr() {
			return bad("gateway %q is not a host address of %s", o.Gateway6, subnet)
		}
	}
	return nil
}

// allocateIP6 picks the endpoint's IPv6 address on an IPv6 network: want
// (ipv6_address) when given, else the lowest free one. The zero Addr on an
// IPv4-only network.
func allocateIP6(n *Network, want string, used []netip.Addr) (netip.Addr, int, error) {
	if !n.IPv6() {
		return netip.Addr{}, 0, nil
	}
	subnet, err := netip.ParsePrefix(n.Subnet6)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("network %q subnet: %w", n.Name, err)
	}
	if gw, err := netip.ParseAddr(n.Gateway6); err == nil {
		used = append(used, gw)
	}
	if want != "" {
		ip, err := netip.ParseAddr(want)
		if err != nil {
			return netip.Addr{}, 0, fmt.Errorf("ipv6 address %q: %w", want, errdefs.ErrInvalidArgument)
		}
		return ip, subnet.Bits(), checkStaticIP6(subnet, ip, used)
	}
	ip, err := freeIP6(subnet, used)
	return ip, subnet.Bits(), err
}
