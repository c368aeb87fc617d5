package networks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// Connect attaches the namespace at nsPath to network with a veth pair: the
// host side joins the bridge, the peer becomes eth0 (eth1, ... for further
// networks) with an address from IPAM (or ep.IP when given), a Docker-style
// MAC, and the default route when it is the namespace's first network. The
// endpoint is recorded before Connect returns, so DNS answers it at once.
func (m *Manager) Connect(ctx context.Context, nsPath, network string, ep Endpoint) (Endpoint, error) {
	if ep.ContainerID == "" {
		return Endpoint{}, fmt.Errorf("endpoint on %q: empty container id: %w", network, errdefs.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return Endpoint{}, err
	}
	l, err := m.lock(ctx)
	if err != nil {
		return Endpoint{}, err
	}
	defer l.Unlock()
	n, err := m.load(network)
	if err != nil {
		return Endpoint{}, err
	}
	var used, used6 []netip.Addr
	stale := -1
	for i, e := range n.Endpoints {
		if e.ContainerID == ep.ContainerID {
			if e.HostIface == "" || linkExists(e.HostIface) {
				return Endpoint{}, fmt.Errorf("container %q on network %q: %w", ep.ContainerID, network, errdefs.ErrAlreadyExists)
			}
			// Its veth went with its namespace: a run that was not torn
			// down (its supervisor died, or the disk was full). This run
			// takes its place, and may take its address.
			stale = i
			continue
		}
		if a, err := netip.ParseAddr(e.IP); err == nil {
			used = append(used, a)
		}
		if a, err := netip.ParseAddr(e.IP6); err == nil {
			used6 = append(used6, a)
		}
	}
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return Endpoint{}, fmt.Errorf("network %q subnet: %w", network, err)
	}
	var ip netip.Addr
	if ep.IP != "" {
		if ip, err = netip.ParseAddr(ep.IP); err != nil {
			return Endpoint{}, fmt.Errorf("address %q: %w", ep.IP, errdefs.ErrInvalidArgument)
		}
		if err := checkStaticIP(subnet, ip, used); err != nil {
			return Endpoint{}, err
		}
	} else {
		pool := subnet
		if n.IPRange != "" {
			if pool, err = netip.ParsePrefix(n.IPRange); err != nil {
				return Endpoint{}, fmt.Errorf("network %q ip_range: %w", network, err)
			}
		}
		if ip, err = freeIPIn(subnet, pool, append(used, reserved(n)...)); err != nil {
			return Endpoint{}, err
		}
	}
	if ep.IP6 != "" && !n.IPv6() {
		return Endpoint{}, fmt.Errorf("ipv6 address %s: network %q has no IPv6 subnet (enable_ipv6): %w", ep.IP6, network, errdefs.ErrInvalidArgument)
	}
	ip6, bits6, err := allocateIP6(n, ep.IP6, used6)
	if err != nil {
		return Endpoint{}, err
	}
	mac := macFor(ip)
	if ep.MAC != "" {
		if mac, err = net.ParseMAC(ep.MAC); err != nil {
			return Endpoint{}, fmt.Errorf("mac address %q: %w", ep.MAC, errdefs.ErrInvalidArgument)
		}
	}
	// Repairs a bridge lost since Ensure (e.g. reboot) instead of failing.
	if err := ensureBridge(n); err != nil {
		return Endpoint{}, err
	}
	ifName, hostName, err := plugVeth(nsPath, n, ip, subnet.Bits(), mac, ep)
	if err == nil && ip6.IsValid() {
		err = addIP6(nsPath, n, ifName, ip6, bits6, !ep.NoGateway)
	}
	if err == nil {
		err = configureIface(nsPath, ifName, ep)
	}
	if err != nil {
		deleteHostVeth(hostName)
		return Endpoint{}, err
	}
	if ip6.IsValid() {
		ep.IP6 = ip6.String()
	}
	ep.IP, ep.MAC, ep.IfName, ep.HostIface = ip.String(), mac.String(), ifName, hostName
	if stale >= 0 {
		n.Endpoints = slices.Delete(n.Endpoints, stale, stale+1)
	}
	n.Endpoints = append(n.Endpoints, ep)
	if err := m.save(n); err != nil {
		deleteHostVeth(hostName)
		return Endpoint{}, err
	}
	return ep, nil
}

// plugVeth creates the veth pair with the peer born inside the namespace
// (named as ep asks, else the next ethN), configures both ends and returns
// their names.
func plugVeth(nsPath string, n *Network, ip netip.Addr, bits int, mac net.HardwareAddr, ep Endpoint) (string, string, error) {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return "", "", fmt.Errorf("netns %s: %w", nsPath, errdefs.ErrNotFound)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return "", "", fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return "", "", fmt.Errorf("links in %s: %w", nsPath, err)
	}
	ifName := ep.IfName
	if ifName == "" {
		ifName = nextEthName(links)
	} else if slices.ContainsFunc(links, func(l netlink.Link) bool { return l.Attrs().Name == ifName }) {
		return "", "", fmt.Errorf("interface name %s is already in use in the container: %w", ifName, errdefs.ErrConflict)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return "", "", fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	hostName := "veth" + randomHex(4)[:7]
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: hostName, MTU: br.Attrs().MTU},
		PeerName:         ifName,
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return "", "", fmt.Errorf("create veth %s: %w", hostName, err)
	}
	fail := func(err error) (string, string, error) {
		deleteHostVeth(hostName)
		return "", "", err
	}
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return fail(fmt.Errorf("veth %s: %w", hostName, err))
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return fail(fmt.Errorf("veth %s to %s: %w", hostName, n.Bridge, err))
	}
	// Hairpin lets a container reach its own published port through the
	// host address: the DNATed packet leaves by the port it came in.
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fail(fmt.Errorf("veth %s hairpin: %w", hostName, err))
	}
	// enable_icc=false: an isolated bridge port forwards only to the
	// bridge itself, never to another container's port, which is what
	// Docker's "-i br -o br -j DROP" achieves; the gateway (DNS,
	// published ports, the way out) stays reachable.
	if n.NoICC {
		if err := netlink.LinkSetIsolated(host, true); err != nil {
			return fail(fmt.Errorf("veth %s isolated: %w", hostName, err))
		}
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fail(fmt.Errorf("veth %s up: %w", hostName, err))
	}
	peer, err := h.LinkByName(ifName)
	if err != nil {
		return fail(fmt.Errorf("%s in %s: %w", ifName, nsPath, err))
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, 32)}}
	if err := h.AddrAdd(peer, addr); err != nil {
		return fail(fmt.Errorf("address %s on %s: %w", ip, ifName, err))
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fail(fmt.Errorf("%s up: %w", ifName, err))
	}
	if !n.Internal && !ep.NoGateway && !hasDefaultRoute(h) {
		gw := netip.MustParseAddr(n.Gateway)
		if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
			return fail(fmt.Errorf("default route via %s: %w", gw, err))
		}
	}
	return ifName, hostName, nil
}

// nextEthName is the lowest ethN not present in the namespace.
func nextEthName(links []netlink.Link) string {
	taken := map[int]bool{}
	for _, l := range links {
		if rest, ok := strings.CutPrefix(l.Attrs().Name, "eth"); ok {
			if i, err := strconv.Atoi(rest); err == nil {
				taken[i] = true
			}
		}
	}
	i := 0
	for taken[i] {
		i++
	}
	return "eth" + strconv.Itoa(i)
}

func hasDefaultRoute(h *netlink.Handle) bool {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			return true
		}
	}
	return false
}

// linkExists reports whether the host has a link called name.
func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return !isLinkNotFound(err)
}

// deleteHostVeth removes a host-side veth if it is still there; deleting
// either end removes the pair.
func deleteHostVeth(name string) {
	if name == "" {
		return
	}
	if l, err := netlink.LinkByName(name); err == nil && l.Type() == "veth" {
		_ = netlink.LinkDel(l)
	}
}

// Disconnect releases the container's address on network, drops its record
// and deletes the host-side veth if the namespace has not taken it away
// already. Disconnecting something absent is not an error.
func (m *Manager) Disconnect(ctx context.Context, network, containerID string) error {
	eps, err := m.release(ctx, network, containerID)
	for _, ep := range eps {
		deleteHostVeth(ep.HostIface)
	}
	return err
}

// Detach is Disconnect for containers whose namespaces are deleted next: it
// leaves the veths to the kernel, which removes them with the namespaces.
// Deleting veths one by one costs an RCU grace period each (~20 ms, under a
// global lock); the kernel tears dying namespaces down in batches. Callers
// that must see the veths gone wait with AwaitLinksGone. Several containers
// are released with one write of the network's record.
func (m *Manager) Detach(ctx context.Context, network string, containerIDs ...string) error {
	_, err := m.release(ctx, network, containerIDs...)
	return err
}

// release drops the containers' endpoints from the network's record and
// returns them.
func (m *Manager) release(ctx context.Context, network string, containerIDs ...string) ([]Endpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	n, err := m.load(network)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var gone []Endpoint
	kept := n.Endpoints[:0:0]
	for _, e := range n.Endpoints {
		if slices.Contains(containerIDs, e.ContainerID) {
			gone = append(gone, e)
		} else {
			kept = append(kept, e)
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	n.Endpoints = kept
	return gone, m.save(n)
}

// addIP6 gives the container's interface its IPv6 address (no DAD: IPAM
// made it unique) and, on its first IPv6 network that may be its gateway,
// the default route.
func addIP6(nsPath string, n *Network, ifName string, ip netip.Addr, bits int, gateway bool) error {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("netns %s: %w", nsPath, errdefs.ErrNotFound)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	link, err := h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", ifName, nsPath, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, 128)}, Flags: unix.IFA_F_NODAD}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", ip, ifName, err)
	}
	if n.Internal || !gateway {
		return nil
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("routes in %s: %w", nsPath, err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "::/0" {
			return nil
		}
	}
	gw := netip.MustParseAddr(n.Gateway6)
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}
