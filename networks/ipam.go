package networks

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// dockerDefault is docker0's subnet: never used, even when Docker is absent,
// so installing Docker later does not clash.
var dockerDefault = netip.MustParsePrefix("172.17.0.0/16")

// defaultPool mirrors Docker's default address pools: 172.17-31.0.0/16,
// then 192.168.0.0/16 cut into /20s.
func defaultPool() []netip.Prefix {
	var pool []netip.Prefix
	for b := 17; b <= 31; b++ {
		pool = append(pool, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(b), 0, 0}), 16))
	}
	for c := 0; c < 256; c += 16 {
		pool = append(pool, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(c), 0}), 20))
	}
	return pool
}

// pickSubnet returns the first pool subnet that overlaps nothing in used.
func pickSubnet(pool, used []netip.Prefix) (netip.Prefix, error) {
	used = append(used, dockerDefault)
next:
	for _, p := range pool {
		for _, u := range used {
			if p.Overlaps(u) {
				continue next
			}
		}
		return p, nil
	}
	return netip.Prefix{}, fmt.Errorf("address pool exhausted: %w", errdefs.ErrFailedPrecondition)
}

// gatewayOf is the first host address of the subnet, like Docker.
func gatewayOf(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// lastHost is the highest usable address (the one before broadcast).
func lastHost(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	host := uint32(1)<<(32-subnet.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	v--
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// nextFreeIP returns the lowest address from .2 upward that is not in used.
func nextFreeIP(subnet netip.Prefix, used []netip.Addr) (netip.Addr, error) {
	taken := make(map[netip.Addr]bool, len(used)+1)
	for _, u := range used {
		taken[u] = true
	}
	taken[gatewayOf(subnet)] = true
	last := lastHost(subnet)
	for a := gatewayOf(subnet).Next(); a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
		if !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: no free address: %w", subnet, errdefs.ErrFailedPrecondition)
}

// checkStaticIP validates a caller-chosen address against the subnet.
func checkStaticIP(subnet netip.Prefix, ip netip.Addr, used []netip.Addr) error {
	if !ip.Is4() || !subnet.Contains(ip) || ip == subnet.Masked().Addr() || ip == gatewayOf(subnet) || ip.Compare(lastHost(subnet)) > 0 {
		return fmt.Errorf("address %s not usable in %s: %w", ip, subnet, errdefs.ErrInvalidArgument)
	}
	for _, u := range used {
		if u == ip {
			return fmt.Errorf("address %s: %w", ip, errdefs.ErrConflict)
		}
	}
	return nil
}

// macFor derives the MAC from the IPv4 address the way Docker does (02:42:a.b.c.d).
func macFor(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// hostSubnets lists every IPv4 prefix already routed or assigned on the host
// (all routing tables), so a new bridge never shadows an existing network,
// including bridges of other state roots.
func hostSubnets() ([]netip.Prefix, error) {
	var out []netip.Prefix
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := toPrefix(a.IPNet); ok {
			out = append(out, p)
		}
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if p, ok := toPrefix(r.Dst); ok && p.Bits() > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

func toPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	if !a.Is4() {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a, ones).Masked(), true
}

// ValidateOptions checks a new network's ipam and driver options, so a bad
// one fails before any kernel object exists.
func ValidateOptions(name string, o Options) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("network %q: %s: %w", name, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	if o.BridgeName != "" && (len(o.BridgeName) > 15 || !nsIDRE.MatchString(o.BridgeName)) {
		return bad("bridge name %q (at most 15 of a-z, 0-9, _.-)", o.BridgeName)
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		return bad("mtu %d", o.MTU)
	}
	if err := validateIPv6(o, bad); err != nil {
		return err
	}
	if o.Subnet == "" {
		if o.Gateway != "" || o.IPRange != "" || len(o.AuxAddresses) > 0 {
			return bad("gateway, ip_range and aux_addresses need a subnet")
		}
		return nil
	}
	subnet, err := netip.ParsePrefix(o.Subnet)
	if err != nil || !subnet.Addr().Is4() || subnet.Bits() > 30 {
		return bad("subnet %q (an IPv4 prefix of /30 or wider)", o.Subnet)
	}
	if o.Gateway != "" {
		gw, err := netip.ParseAddr(o.Gateway)
		if err != nil || !subnet.Contains(gw) || gw == subnet.Masked().Addr() {
			return bad("gateway %q is not a host address of %s", o.Gateway, subnet)
		}
	}
	if o.IPRange != "" {
		r, err := netip.ParsePrefix(o.IPRange)
		if err != nil || !r.Addr().Is4() || r.Bits() < subnet.Bits() || !subnet.Contains(r.Addr()) {
			return bad("ip_range %q is not inside %s", o.IPRange, subnet)
		}
	}
	for host, a := range o.AuxAddresses {
		ip, err := netip.ParseAddr(a)
		if err != nil || !subnet.Contains(ip) {
			return bad("aux address %s=%q is not inside %s", host, a, subnet)
		}
	}
	return nil
}

// reserved lists the addresses of n that Connect never hands out
// automatically: the gateway and the aux addresses.
func reserved(n *Network) []netip.Addr {
	var out []netip.Addr
	if gw, err := netip.ParseAddr(n.Gateway); err == nil {
		out = append(out, gw)
	}
	for _, a := range n.AuxAddresses {
		if ip, err := netip.ParseAddr(a); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// freeIPIn returns the lowest address of pool (an ip_range, or the subnet
// itself) that is a host address of subnet and not in used.
func freeIPIn(subnet, pool netip.Prefix, used []netip.Addr) (netip.Addr, error) {
	taken := make(map[netip.Addr]bool, len(used))
	for _, u := range used {
		taken[u] = true
	}
	last := lastHost(subnet)
	if pl := lastHost(pool).Next(); pool.Bits() < 32 && pl.Compare(last) < 0 {
		last = pl // the range's own broadcast address is a host of the subnet
	}
	for a := pool.Masked().Addr(); a.IsValid() && a.Compare(last) <= 0 && pool.Contains(a); a = a.Next() {
		if a != subnet.Masked().Addr() && !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: no free address in %s: %w", subnet, pool, errdefs.ErrFailedPrecondition)
}
