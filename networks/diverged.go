package networks

import (
	"maps"
	"strings"
)

// Changed names the first option of o that the existing network n was not
// created with ("" when n matches). Options left to their defaults (an
// automatic subnet or gateway) match whatever was picked. Compose's own
// labels (com.docker.compose.*) are not compared: they name the project.
func (n *Network) Changed(o Options) string {
	switch {
	case o.Subnet != "" && o.Subnet != n.Subnet:
		return "ipam.config.subnet"
	case o.Gateway != "" && o.Gateway != n.Gateway:
		return "ipam.config.gateway"
	case o.IPRange != n.IPRange:
		return "ipam.config.ip_range"
	case !maps.Equal(o.AuxAddresses, n.AuxAddresses) && len(o.AuxAddresses)+len(n.AuxAddresses) > 0:
		return "ipam.config.aux_addresses"
	case o.EnableIPv6 != n.IPv6():
		return "enable_ipv6"
	case o.Subnet6 != "" && o.Subnet6 != n.Subnet6:
		return "ipam.config.subnet"
	case o.Gateway6 != "" && o.Gateway6 != n.Gateway6:
		return "ipam.config.gateway"
	case o.Internal != n.Internal:
		return "internal"
	case o.Attachable != n.Attachable:
		return "attachable"
	case o.BridgeName != "" && o.BridgeName != n.Bridge, o.BridgeName == "" && !strings.HasPrefix(n.Bridge, "br-"):
		return "com.docker.network.bridge.name"
	case o.MTU != n.MTU:
		return "com.docker.network.driver.mtu"
	case o.NoICC != n.NoICC:
		return "com.docker.network.bridge.enable_icc"
	case o.NoMasquerade != n.NoMasquerade:
		return "com.docker.network.bridge.enable_ip_masquerade"
	case !maps.Equal(userLabels(o.Labels), userLabels(n.Labels)):
		return "labels"
	}
	return ""
}

func userLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if !strings.HasPrefix(k, "com.docker.compose.") {
			out[k] = v
		}
	}
	return out
}
