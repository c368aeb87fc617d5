package networks

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// IfnamePlaceholder stands for the interface's name in an endpoint sysctl,
// as in Docker's com.docker.network.endpoint.sysctls.
const IfnamePlaceholder = "IFNAME"

// configureIface adds the endpoint's link-local addresses and sets its
// interface sysctls, once the interface is up in the namespace.
func configureIface(nsPath, ifName string, ep Endpoint) error {
	if len(ep.LinkLocalIPs) == 0 && len(ep.Sysctls) == 0 {
		return nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("netns %s: %w", nsPath, errdefs.ErrNotFound)
	}
	defer ns.Close()
	if err := addLinkLocal(ns, ifName, ep.LinkLocalIPs); err != nil {
		return err
	}
	return setIfaceSysctls(ns, ifName, ep.Sysctls)
}

// addLinkLocal adds link_local_ips with the prefix of their range
// (169.254.0.0/16, fe80::/64), as Docker's libnetwork adds them.
func addLinkLocal(ns netns.NsHandle, ifName string, ips []string) error {
	if len(ips) == 0 {
		return nil
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("%s: %w", ifName, err)
	}
	for _, s := range ips {
		ip, err := ParseLinkLocal(s)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(16, 32)}}
		if ip.Is6() {
			a = &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("link-local address %s on %s: %w", ip, ifName, err)
		}
	}
	return nil
}

// ParseLinkLocal checks a link_local_ips entry: a link-local unicast
// address, IPv4 or IPv6.
func ParseLinkLocal(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.IsLinkLocalUnicast() || ip.Is4In6() {
		return netip.Addr{}, fmt.Errorf("invalid link-local IP address %q: %w", s, errdefs.ErrInvalidArgument)
	}
	return ip, nil
}

// CheckIfaceSysctl checks one com.docker.network.endpoint.sysctls entry
// as Docker's bridge driver accepts them: "net.ipv4|ipv6|mpls.*=value"
// naming the interface IFNAME.
func CheckIfaceSysctl(s string) error {
	key, _, ok := strings.Cut(s, "=")
	bad := func(why string) error {
		return fmt.Errorf("interface sysctl %q: %s: %w", s, why, errdefs.ErrInvalidArgument)
	}
	switch {
	case !ok:
		return bad("want KEY=VALUE")
	case !strings.HasPrefix(key, "net.ipv4.") && !strings.HasPrefix(key, "net.ipv6.") && !strings.HasPrefix(key, "net.mpls."):
		return bad("only net.ipv4, net.ipv6 and net.mpls sysctls are per-interface")
	case !strings.Contains(key, "."+IfnamePlaceholder+"."):
		return bad("name the interface IFNAME")
	}
	return nil
}

// setIfaceSysctls writes the sysctls from inside the namespace: net
// sysctls are the namespace's of whoever opens them. The thread that
// entered the namespace is never unlocked, so it ends with its goroutine.
func setIfaceSysctls(ns netns.NsHandle, ifName string, sysctls []string) error {
	if len(sysctls) == 0 {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			done <- err
			return
		}
		for _, s := range sysctls {
			if err := writeIfaceSysctl(ifName, s); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return <-done
}

func writeIfaceSysctl(ifName, s string) error {
	key, value, _ := strings.Cut(s, "=")
	// Dots separate the levels, but an interface name may have its own.
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if p == IfnamePlaceholder {
			parts[i] = ifName
		}
	}
	return writeSysctl(filepath.Join(parts...), value)
}
