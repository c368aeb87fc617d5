package specgen

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

// hostGateway is Docker's special extra_hosts address: the host as seen
// from the container (here: its first network's gateway).
const hostGateway = "host-gateway"

// ExtraHosts turns the service's extra_hosts into /etc/hosts lines
// ("ip\tname"), sorted by name so the file is stable; host-gateway becomes
// gateway.
func ExtraHosts(svc types.ServiceConfig, gateway string) ([]string, error) {
	names := make([]string, 0, len(svc.ExtraHosts))
	for name := range svc.ExtraHosts {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		for _, ip := range svc.ExtraHosts[name] {
			if ip == hostGateway {
				if gateway == "" {
					return nil, fmt.Errorf("service %q: extra_hosts %s=host-gateway needs a network: %w", svc.Name, name, errdefs.ErrInvalidArgument)
				}
				ip = gateway
			}
			if _, err := netip.ParseAddr(ip); err != nil {
				return nil, fmt.Errorf("service %q: extra_hosts %s: invalid address %q: %w", svc.Name, name, ip, errdefs.ErrInvalidArgument)
			}
			out = append(out, ip+"\t"+name)
		}
	}
	return out, nil
}

// Links maps each link's alias to its target ("db:database" gives
// database -> db; "db" alone adds no new name). external_links name
// containers outside the project the same way: like Docker Compose
// (getLinks), they become links to that container's name, which the
// embedded DNS answers on the networks the two share.
func Links(svc types.ServiceConfig) map[string]string {
	var out map[string]string
	for _, l := range append(slices.Clone(svc.Links), svc.ExternalLinks...) {
		target, alias, ok := strings.Cut(l, ":")
		if !ok || alias == target {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[alias] = target
	}
	return out
}

// NetworkOptions maps the compose network key onto the options of a new
// bridge network; what a single-host bridge can not do is a clear error.
func NetworkOptions(key string, nw types.NetworkConfig) (networks.Options, error) {
	bad := func(format string, a ...any) (networks.Options, error) {
		return networks.Options{}, fmt.Errorf("network %q: %s: %w", key, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	if nw.Driver != "" && nw.Driver != "bridge" {
		return bad("driver %q is not supported (only bridge)", nw.Driver)
	}
	if nw.EnableIPv4 != nil && !*nw.EnableIPv4 {
		return bad("enable_ipv4: false is not supported")
	}
	if d := nw.Ipam.Driver; d != "" && d != "default" {
		return bad("ipam driver %q is not supported (only default)", d)
	}
	o := networks.Options{Internal: nw.Internal, Attachable: nw.Attachable, EnableIPv6: nw.EnableIPv6 != nil && *nw.EnableIPv6}
	for k, v := range nw.DriverOpts {
		switch k {
		case "com.docker.network.bridge.name":
			o.BridgeName = v
		case "com.docker.network.driver.mtu":
			mtu, err := strconv.Atoi(v)
			if err != nil {
				return bad("mtu %q", v)
			}
			o.MTU = mtu
		case "com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return bad("driver_opts %s %q: want true or false", k, v)
			}
			if strings.HasSuffix(k, "icc") {
				o.NoICC = !on
			} else {
				o.NoMasquerade = !on
			}
		}
	}
	// At most one IPv4 and one IPv6 subnet.
	var have4, have6 bool
	for _, c := range nw.Ipam.Config {
		if c == nil {
			continue
		}
		if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is6() && !p.Addr().Is4In6() {
			if have6 {
				return bad("more than one IPv6 subnet in ipam config")
			}
			have6 = true
			if c.IPRange != "" || len(c.AuxiliaryAddresses) > 0 {
				return bad("ip_range and aux_addresses are not supported for the IPv6 subnet %s", c.Subnet)
			}
			o.Subnet6, o.Gateway6 = c.Subnet, c.Gateway
			continue
		}
		if have4 {
			return bad("more than one IPv4 subnet in ipam config")
		}
		have4 = true
		o.Subnet, o.Gateway, o.IPRange = c.Subnet, c.Gateway, c.IPRange
		if len(c.AuxiliaryAddresses) > 0 {
			o.AuxAddresses = map[string]string(c.AuxiliaryAddresses)
		}
	}
	if err := networks.ValidateOptions(nw.Name, o); err != nil {
		return networks.Options{}, err
	}
	return o, nil
}

// CheckNetworking validates network_mode and the per-network addresses of
// a service of project p before anything is created.
func CheckNetworking(p *types.Project, svc types.ServiceConfig) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("service %q: %s: %w", svc.Name, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	switch m := svc.NetworkMode; {
	case m == "", m == "host", m == "none", DefaultBridge(svc), strings.HasPrefix(m, "service:"), strings.HasPrefix(m, "container:"):
	default:
		return bad("network_mode %q (bridge, host, none, service:NAME or container:NAME)", m)
	}
	if svc.NetworkMode != "" && len(svc.Networks) > 0 {
		return bad("network_mode and networks can not be combined")
	}
	if svc.MacAddress != "" {
		if _, err := net.ParseMAC(svc.MacAddress); err != nil {
			return bad("mac_address %q", svc.MacAddress)
		}
	}
	for key, c := range svc.Networks {
		if c == nil {
			continue
		}
		if c.MacAddress != "" {
			if _, err := net.ParseMAC(c.MacAddress); err != nil {
				return bad("network %s: mac_address %q", key, c.MacAddress)
			}
		}
		if c.Ipv6Address != "" {
			if err := checkIPv6Address(p, svc, key, c.Ipv6Address); err != nil {
				return err
			}
		}
		if c.Ipv4Address != "" {
			if err := checkIPv4Address(p, svc, key, c.Ipv4Address); err != nil {
				return err
			}
		}
		if err := checkEndpoint(key, c); err != nil {
			return bad("%s", err.Error())
		}
	}
	return checkInterfaceNames(svc, bad)
}

// DefaultBridgeNetwork is the network `network_mode: bridge` joins: one
// for the host, named like Docker's default bridge network.
const DefaultBridgeNetwork = "bridge"

// DefaultBridge reports whether svc joins the default bridge
// (network_mode: bridge, or its Docker synonym default).
func DefaultBridge(svc types.ServiceConfig) bool {
	return svc.NetworkMode == "bridge" || svc.NetworkMode == "default"
}

// endpointSysctls is the endpoint driver option Docker's bridge driver
// reads: comma-separated per-interface sysctls.
const endpointSysctls = "com.docker.network.endpoint.sysctls"

// EndpointSysctls are the interface sysctls a service's network asks for.
func EndpointSysctls(c *types.ServiceNetworkConfig) []string {
	v := strings.TrimSpace(c.DriverOpts[endpointSysctls])
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// checkEndpoint validates interface_name, link_local_ips and the driver
// options of one of a service's networks.
func checkEndpoint(key string, c *types.ServiceNetworkConfig) error {
	if n := c.InterfaceName; n != "" && !validIfName(n) {
		return fmt.Errorf("network %s: interface_name %q (at most 15 characters, no '/', ':' or spaces)", key, n)
	}
	for _, ip := range c.LinkLocalIPs {
		if _, err := networks.ParseLinkLocal(ip); err != nil {
			return fmt.Errorf("network %s: link_local_ips: %s", key, errdefs.Message(err))
		}
	}
	for _, s := range EndpointSysctls(c) {
		if err := networks.CheckIfaceSysctl(s); err != nil {
			return fmt.Errorf("network %s: driver_opts %s: %s", key, endpointSysctls, errdefs.Message(err))
		}
	}
	return nil
}

// validIfName is what Linux takes as an interface name.
func validIfName(n string) bool {
	return len(n) <= 15 && n != "." && n != ".." && !strings.ContainsAny(n, "/: \t\n")
}

// checkInterfaceNames refuses two networks asking for the same interface name.
func checkInterfaceNames(svc types.ServiceConfig, bad func(string, ...any) error) error {
	seen := map[string]string{}
	for _, key := range sortedKeys(svc.Networks) {
		c := svc.Networks[key]
		if c == nil || c.InterfaceName == "" {
			continue
		}
		if other, ok := seen[c.InterfaceName]; ok {
			return bad("networks %s and %s ask for the same interface_name %q", other, key, c.InterfaceName)
		}
		seen[c.InterfaceName] = key
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkIPv4Address validates a service's ipv4_address on network key.
func checkIPv4Address(p *types.Project, svc types.ServiceConfig, key, addr string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("service %q: network %s: %s: %w", svc.Name, key, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return bad("ipv4_address %q", addr)
	}
	if svc.GetScale() > 1 {
		return bad("ipv4_address can not be used with %d replicas", svc.GetScale())
	}
	nw := p.Networks[key]
	if bool(nw.External) {
		return nil // its subnet is checked when connecting
	}
	var subnet4 *netip.Prefix
	for _, c := range nw.Ipam.Config {
		if sn, err := netip.ParsePrefix(c.Subnet); err == nil && sn.Addr().Is4() {
			subnet4 = &sn
		}
	}
	if subnet4 == nil {
		return bad("ipv4_address needs a subnet in the network's ipam config")
	}
	if !subnet4.Contains(ip) {
		return bad("ipv4_address %s is not in %s", ip, *subnet4)
	}
	return nil
}

// checkIPv6Address validates a service's ipv6_address on network key.
func checkIPv6Address(p *types.Project, svc types.ServiceConfig, key, addr string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("service %q: network %s: %s: %w", svc.Name, key, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return bad("ipv6_address %q", addr)
	}
	if svc.GetScale() > 1 {
		return bad("ipv6_address can not be used with %d replicas", svc.GetScale())
	}
	nw := p.Networks[key]
	if bool(nw.External) {
		return nil // checked when connecting
	}
	if nw.EnableIPv6 == nil || !*nw.EnableIPv6 {
		return bad("ipv6_address needs enable_ipv6: true on the network")
	}
	for _, c := range nw.Ipam.Config {
		if sn, err := netip.ParsePrefix(c.Subnet); err == nil && sn.Addr().Is6() {
			if !sn.Contains(ip) {
				return bad("ipv6_address %s is not in %s", ip, sn)
			}
			return nil
		}
	}
	return bad("ipv6_address needs an IPv6 subnet in the network's ipam config")
}
