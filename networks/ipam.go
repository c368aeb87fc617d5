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
