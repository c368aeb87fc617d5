package engine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/networks"
)

// hostGateway is Docker's special extra_hosts address: the host as seen
// from the container (here: its first network's gateway).
const hostGateway = "host-gateway"

// extraHosts turns the service's extra_hosts into /etc/hosts lines
// ("ip\tname"), sorted by name so the file is stable.
func extraHosts(svc types.ServiceConfig, gateway string) ([]string, error) {
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

// writeServiceResolvConf is /etc/resolv.conf for a service: the embedded
// DNS server alone when there is one (like Docker, it forwards other names
// to the service's dns servers), else the dns servers themselves;
// dns_search instead of the host's search domains, and dns_opt after ndots:0.
func writeServiceResolvConf(dir, nameserver string, svc types.ServiceConfig) error {
	var b strings.Builder
	if nameserver != "" {
		fmt.Fprintf(&b, "nameserver %s\n", nameserver)
	}
	for _, s := range svc.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("service %q: dns %q: %w", svc.Name, s, errdefs.ErrInvalidArgument)
		}
		if nameserver == "" {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
	}
	if len(svc.DNSSearch) > 0 {
		if !(len(svc.DNSSearch) == 1 && svc.DNSSearch[0] == ".") {
			fmt.Fprintf(&b, "search %s\n", strings.Join(svc.DNSSearch, " "))
		}
	} else if host, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		for _, line := range strings.Split(string(host), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "search" {
				b.WriteString(line + "\n")
			}
		}
	}
	opts := append([]string{"ndots:0"}, svc.DNSOpts...)
	fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	return store.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(b.String()), 0o644)
}

// networkOptions maps a compose network onto the options of a new bridge
// network; what a single-host bridge can not do is a clear error.
func networkOptions(key string, nw types.NetworkConfig) (networks.Options, error) {
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

// checkServiceNetworking validates network_mode and the per-network
// addresses of a service before anything is created.
func checkServiceNetworking(p *types.Project, svc types.ServiceConfig) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("service %q: %s: %w", svc.Name, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	switch m := svc.NetworkMode; {
	case m == "", m == "host", m == "none", strings.HasPrefix(m, "service:"), strings.HasPrefix(m, "container:"):
	default:
		return bad("network_mode %q (host, none, service:NAME or container:NAME)", m)
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
		if c.Ipv4Address == "" {
			continue
		}
		ip, err := netip.ParseAddr(c.Ipv4Address)
		if err != nil || !ip.Is4() {
			return bad("network %s: ipv4_address %q", key, c.Ipv4Address)
		}
		if svc.GetScale() > 1 {
			return bad("network %s: ipv4_address can not be used with %d replicas", key, svc.GetScale())
		}
		nw := p.Networks[key]
		if bool(nw.External) {
			continue // its subnet is checked when connecting
		}
		var subnet4 *netip.Prefix
		for _, c := range nw.Ipam.Config {
			if sn, err := netip.ParsePrefix(c.Subnet); err == nil && sn.Addr().Is4() {
				subnet4 = &sn
			}
		}
		if subnet4 == nil {
			return bad("network %s: ipv4_address needs a subnet in the network's ipam config", key)
		}
		if !subnet4.Contains(ip) {
			return bad("network %s: ipv4_address %s is not in %s", key, ip, *subnet4)
		}
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

// resolveNetworkMode turns service:NAME / container:NAME into
// "container:<id>" of the container whose namespace is shared.
func (e *Engine) resolveNetworkMode(projectName, mode string) (string, *record.Record, error) {
	if !strings.HasPrefix(mode, "service:") && !strings.HasPrefix(mode, "container:") {
		return mode, nil, nil
	}
	m := &optionsMapper{env: optionsEnv{project: projectName, containersDir: e.records.ContainersDir()}}
	dir, err := m.containerDir(mode)
	if err != nil {
		return "", nil, fmt.Errorf("network_mode: %w", err)
	}
	r, err := record.Load(dir)
	if err != nil {
		return "", nil, err
	}
	return "container:" + r.ID, r, nil
}

// joinNetworkMode is connect for a container without networks of its own:
// host shares the host's namespace and files, container:<id> the other
// container's; none (or "") falls through to a private namespace.
func joinNetworkMode(nets *networks.Manager, rec *record.Record, spec *runspec.Spec) (bool, error) {
	switch {
	case rec.NetworkMode == "host":
		spec.NetNS = runspec.HostNetNS
		return true, copyEtc("/etc/hosts", filepath.Join(rec.Dir, "hosts"))
	case strings.HasPrefix(rec.NetworkMode, "container:"):
		id := strings.TrimPrefix(rec.NetworkMode, "container:")
		path, err := nets.NetNSPath(id)
		if err != nil {
			return true, err
		}
		spec.NetNS = path
		other := filepath.Join(filepath.Dir(rec.Dir), id, "hosts")
		return true, copyEtc(other, filepath.Join(rec.Dir, "hosts"))
	}
	return false, nil
}

func copyEtc(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return store.WriteFile(dst, data, 0o644)
}

// serviceLinks maps each link's alias to its target ("db:database" gives
// database -> db; "db" alone adds no new name).
func serviceLinks(svc types.ServiceConfig) map[string]string {
	var out map[string]string
	for _, l := range svc.Links {
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

// checkNetworks compares the project's networks with those that exist
// already, before anything starts, the way Docker Compose does: a network
// of another project (or not made by compose) is used with a warning; one
// of this project whose options changed must be recreated first.
func (e *Engine) checkNetworks(pl *plan) error {
	p := pl.project
	for _, key := range pl.networks {
		nw := p.Networks[key]
		if bool(nw.External) {
			continue
		}
		n, err := e.nets.Get(nw.Name)
		if err != nil {
			continue // created by converge
		}
		owner, ok := n.Labels[record.LabelProject]
		switch {
		case !ok:
			e.warn(nw.Name, fmt.Sprintf("a network with name %s exists but was not created by compose.\nSet `external: true` to use an existing network", nw.Name))
			continue
		case owner != p.Name:
			e.warn(nw.Name, fmt.Sprintf("a network with name %s exists but was not created for project %q.\nSet `external: true` to use an existing network", nw.Name, p.Name))
			continue
		}
		opts, err := networkOptions(key, nw)
		if err != nil {
			return err
		}
		opts.Labels = nw.Labels
		if n.Changed(opts) != "" {
			pl.diverged = append(pl.diverged, nw.Name)
		}
	}
	return nil
}

// recreateNetworks removes the project's networks whose options changed,
// with the project's containers attached to them, as Docker Compose does;
// converge then creates both anew. A network another project's container
// still uses cannot go: that is an error naming it.
func (e *Engine) recreateNetworks(ctx context.Context, pl *plan) error {
	if len(pl.diverged) == 0 {
		return nil
	}
	recs, err := e.containers(pl.project.Name)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, name := range pl.diverged {
		e.progress("Network", name, "Recreate")
		for _, r := range recs {
			if !gone[r.ID] && slices.ContainsFunc(r.Networks, func(a record.Attachment) bool { return a.Network == name }) {
				gone[r.ID] = true
				if err := e.removeRecord(ctx, r, recordTimeout(r, nil)); err != nil {
					return err
				}
			}
		}
		if err := e.would(func() error { return e.nets.Remove(ctx, name) }); err != nil {
			return fmt.Errorf("network %s needs to be recreated (its options changed): %w", name, err)
		}
		e.progress("Network", name, "Removed")
	}
	return nil
}
