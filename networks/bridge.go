package networks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureBridge creates (or repairs) the network's bridge: pinned MAC,
// gateway address, up, route_localnet, and IPv4 forwarding on the host.
func ensureBridge(n *Network) error {
	mac, err := net.ParseMAC(n.BridgeMAC)
	if err != nil {
		return fmt.Errorf("bridge %s: mac: %w", n.Bridge, err)
	}
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		if !isLinkNotFound(err) {
			return fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
		// An explicit address at creation makes the kernel keep it
		// (addr_assign_type=set) instead of following the lowest port MAC.
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge, HardwareAddr: mac, MTU: n.MTU}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
		}
		if link, err = netlink.LinkByName(n.Bridge); err != nil {
			return fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
	}
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return fmt.Errorf("network %q subnet: %w", n.Name, err)
	}
	gw := netip.MustParseAddr(n.Gateway)
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(subnet.Bits(), 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("bridge %s address: %w", n.Bridge, err)
	}
	if err := writeSysctl(filepath.Join("net/ipv4/conf", n.Bridge, "route_localnet"), "1"); err != nil {
		return err
	}
	if n.IPv6() {
		if err := ensureBridge6(n, link); err != nil {
			return err
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bridge %s up: %w", n.Bridge, err)
	}
	return writeSysctl("net/ipv4/ip_forward", "1")
}

// deleteBridge removes the bridge; a missing bridge is fine.
func deleteBridge(name string) error {
	link, err := netlink.LinkByName(name)
	if isLinkNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// writeSysctl writes /proc/sys/<key>, skipping the write when the value is
// already set (ip_forward is shared by every caller).
func writeSysctl(key, value string) error {
	path := filepath.Join("/proc/sys", key)
	if cur, err := os.ReadFile(path); err == nil && string(cur) == value+"\n" {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	return nil
}

// ensureBridge6 gives the bridge its IPv6 gateway address (no duplicate
// address detection: the subnet is ours, and DAD would delay it) and turns
// on IPv6 forwarding, as Docker does for an IPv6 network.
func ensureBridge6(n *Network, link netlink.Link) error {
	subnet, err := netip.ParsePrefix(n.Subnet6)
	if err != nil {
		return fmt.Errorf("network %q subnet: %w", n.Name, err)
	}
	gw, err := netip.ParseAddr(n.Gateway6)
	if err != nil {
		return fmt.Errorf("network %q gateway: %w", n.Name, err)
	}
	if err := writeSysctl(filepath.Join("net/ipv6/conf", n.Bridge, "disable_ipv6"), "0"); err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(subnet.Bits(), 128)}, Flags: unix.IFA_F_NODAD}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("bridge %s address: %w", n.Bridge, err)
	}
	return writeSysctl("net/ipv6/conf/all/forwarding", "1")
}
