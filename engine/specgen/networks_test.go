package specgen

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

func TestNetworkOptions(t *testing.T) {
	yes, no := true, false
	pool := func(subnet, gw string) *types.IPAMPool { return &types.IPAMPool{Subnet: subnet, Gateway: gw} }
	tests := []struct {
		name string
		in   types.NetworkConfig
		want networks.Options
		err  string // part of the message; "" = no error
	}{
		{"plain", types.NetworkConfig{}, networks.Options{}, ""},
		{"flags", types.NetworkConfig{Internal: true, Attachable: true, Driver: "bridge"}, networks.Options{Internal: true, Attachable: true}, ""},
		{"ipam", types.NetworkConfig{Ipam: types.IPAMConfig{Driver: "default", Config: []*types.IPAMPool{{Subnet: "10.5.0.0/16", Gateway: "10.5.0.254", IPRange: "10.5.1.0/24", AuxiliaryAddresses: types.Mapping{"a": "10.5.0.3"}}}}},
			networks.Options{Subnet: "10.5.0.0/16", Gateway: "10.5.0.254", IPRange: "10.5.1.0/24", AuxAddresses: map[string]string{"a": "10.5.0.3"}}, ""},
		{"driver opts", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.name": "mybr0", "com.docker.network.driver.mtu": "1400", "other": "x"}},
			networks.Options{BridgeName: "mybr0", MTU: 1400}, ""},
		{"ipv6", types.NetworkConfig{EnableIPv6: &yes}, networks.Options{EnableIPv6: true}, ""},
		{"ipv6 subnets", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0/16", ""), nil, pool("fd12::/64", "fd12::1")}}},
			networks.Options{EnableIPv6: true, Subnet: "10.5.0.0/16", Subnet6: "fd12::/64", Gateway6: "fd12::1"}, ""},
		{"overlay", types.NetworkConfig{Driver: "overlay"}, networks.Options{}, `driver "overlay" is not supported`},
		{"no ipv4", types.NetworkConfig{EnableIPv4: &no}, networks.Options{}, "enable_ipv4: false"},
		{"ipv6 without enable", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("fd12::/64", "")}}}, networks.Options{}, "enable_ipv6"},
		{"two ipv4 subnets", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0/16", ""), pool("10.6.0.0/16", "")}}}, networks.Options{}, "more than one IPv4 subnet"},
		{"two ipv6 subnets", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("fd12::/64", ""), pool("fd13::/64", "")}}}, networks.Options{}, "more than one IPv6 subnet"},
		{"ipv6 range", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "fd12::/64", IPRange: "fd12::/80"}}}}, networks.Options{}, "ip_range and aux_addresses are not supported"},
		{"ipv6 gateway outside", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("fd12::/64", "fd13::1")}}}, networks.Options{}, "fd13::1"},
		{"ipam driver", types.NetworkConfig{Ipam: types.IPAMConfig{Driver: "dhcp"}}, networks.Options{}, `ipam driver "dhcp"`},
		{"gateway outside", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0/16", "10.6.0.1")}}}, networks.Options{}, "10.6.0.1"},
		{"range outside", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/16", IPRange: "10.6.0.0/24"}}}}, networks.Options{}, "10.6.0.0/24"},
		{"bad mtu", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.driver.mtu": "big"}}, networks.Options{}, `mtu "big"`},
		{"long bridge", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.name": "a-very-long-bridge-name"}}, networks.Options{}, "bridge name"},
		// Docker's bridge driver reads these two as booleans (strconv.ParseBool).
		{"icc and masquerade off", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.enable_icc": "false", "com.docker.network.bridge.enable_ip_masquerade": "0"}},
			networks.Options{NoICC: true, NoMasquerade: true}, ""},
		{"icc on", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.enable_icc": "true"}}, networks.Options{}, ""},
		{"bad icc", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.enable_icc": "maybe"}}, networks.Options{}, `enable_icc "maybe": want true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Name = "p_net"
			got, err := NetworkOptions("net", tt.in)
			if tt.err != "" {
				if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "network ") {
					t.Fatalf("err = %v, want invalid argument naming the network with %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestCheckNetworking(t *testing.T) {
	yes := true
	p := &types.Project{Networks: types.Networks{
		"front": {Name: "p_front", Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/24"}}}},
		"plain": {Name: "p_plain"},
		"v6":    {Name: "p_v6", EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "fd00::/64"}}}},
		"v6any": {Name: "p_v6any", EnableIPv6: &yes},
		"ext":   {Name: "ext", External: true},
	}}
	two := 2
	svc := func(f func(s *types.ServiceConfig)) types.ServiceConfig {
		var s types.ServiceConfig
		f(&s)
		return s
	}
	on := func(key string, c types.ServiceNetworkConfig) func(s *types.ServiceConfig) {
		return func(s *types.ServiceConfig) { s.Networks = map[string]*types.ServiceNetworkConfig{key: &c} }
	}
	scaled := func(f func(s *types.ServiceConfig)) func(s *types.ServiceConfig) {
		return func(s *types.ServiceConfig) { f(s); s.Scale = &two }
	}
	tests := []struct {
		name string
		svc  types.ServiceConfig
		err  string // the message after `service "x": `; "" = no error
	}{
		{"default", svc(func(s *types.ServiceConfig) {}), ""},
		{"host", svc(func(s *types.ServiceConfig) { s.NetworkMode = "host" }), ""},
		{"none", svc(func(s *types.ServiceConfig) { s.NetworkMode = "none" }), ""},
		{"service", svc(func(s *types.ServiceConfig) { s.NetworkMode = "service:db" }), ""},
		{"container", svc(func(s *types.ServiceConfig) { s.NetworkMode = "container:abc" }), ""},
		{"nil network", svc(func(s *types.ServiceConfig) { s.Networks = map[string]*types.ServiceNetworkConfig{"plain": nil} }), ""},
		{"static", svc(on("front", types.ServiceNetworkConfig{Ipv4Address: "10.5.0.9", MacAddress: "02:42:ac:11:00:02"})), ""},
		{"static external", svc(on("ext", types.ServiceNetworkConfig{Ipv4Address: "192.168.9.9"})), ""},
		{"ipv6", svc(on("v6", types.ServiceNetworkConfig{Ipv6Address: "fd00::2"})), ""},
		{"ipv6 external", svc(on("ext", types.ServiceNetworkConfig{Ipv6Address: "fd00::2"})), ""},
		{"service mac", svc(func(s *types.ServiceConfig) { s.MacAddress = "02:42:ac:11:00:02" }), ""},
		{"bogus mode", svc(func(s *types.ServiceConfig) { s.NetworkMode = "bridge2" }), `network_mode "bridge2" (bridge, host, none, service:NAME or container:NAME)`},
		{"mode and networks", svc(func(s *types.ServiceConfig) {
			s.NetworkMode = "host"
			s.Networks = map[string]*types.ServiceNetworkConfig{"front": nil}
		}), "network_mode and networks can not be combined"},
		{"bad mac", svc(func(s *types.ServiceConfig) { s.MacAddress = "zz" }), `mac_address "zz"`},
		{"bad network mac", svc(on("front", types.ServiceNetworkConfig{MacAddress: "zz"})), `network front: mac_address "zz"`},
		{"bad ipv4", svc(on("front", types.ServiceNetworkConfig{Ipv4Address: "fd00::9"})), `network front: ipv4_address "fd00::9"`},
		{"static outside", svc(on("front", types.ServiceNetworkConfig{Ipv4Address: "10.6.0.9"})), "network front: ipv4_address 10.6.0.9 is not in 10.5.0.0/24"},
		{"static without subnet", svc(on("plain", types.ServiceNetworkConfig{Ipv4Address: "10.6.0.9"})), "network plain: ipv4_address needs a subnet in the network's ipam config"},
		{"static replicas", svc(scaled(on("front", types.ServiceNetworkConfig{Ipv4Address: "10.5.0.9"}))), "network front: ipv4_address can not be used with 2 replicas"},
		{"ipv6 without enable", svc(on("front", types.ServiceNetworkConfig{Ipv6Address: "fd00::2"})), "network front: ipv6_address needs enable_ipv6: true on the network"},
		{"ipv6 without subnet", svc(on("v6any", types.ServiceNetworkConfig{Ipv6Address: "fd00::2"})), "network v6any: ipv6_address needs an IPv6 subnet in the network's ipam config"},
		{"ipv6 outside", svc(on("v6", types.ServiceNetworkConfig{Ipv6Address: "fd01::2"})), "network v6: ipv6_address fd01::2 is not in fd00::/64"},
		{"ipv6 mapped v4", svc(on("v6", types.ServiceNetworkConfig{Ipv6Address: "::ffff:10.0.0.1"})), `network v6: ipv6_address "::ffff:10.0.0.1"`},
		{"ipv6 replicas", svc(scaled(on("v6", types.ServiceNetworkConfig{Ipv6Address: "fd00::2"}))), "network v6: ipv6_address can not be used with 2 replicas"},
		// network_mode: bridge is Docker's default bridge network.
		{"bridge", svc(func(s *types.ServiceConfig) { s.NetworkMode = "bridge" }), ""},
		{"default bridge synonym", svc(func(s *types.ServiceConfig) { s.NetworkMode = "default" }), ""},
		// Endpoint options (Docker 28's EndpointSettings: IfName,
		// LinkLocalIPs, GwPriority, DriverOpts).
		{"endpoint options", svc(on("front", types.ServiceNetworkConfig{InterfaceName: "app0", LinkLocalIPs: []string{"169.254.8.8", "fe80::8"},
			GatewayPriority: 5, DriverOpts: types.Options{"com.docker.network.endpoint.sysctls": "net.ipv4.conf.IFNAME.log_martians=1,net.ipv6.conf.IFNAME.accept_ra=0"}})), ""},
		{"long interface name", svc(on("front", types.ServiceNetworkConfig{InterfaceName: "a-very-long-name0"})), `network front: interface_name "a-very-long-name0" (at most 15 characters, no '/', ':' or spaces)`},
		{"not link-local", svc(on("front", types.ServiceNetworkConfig{LinkLocalIPs: []string{"10.0.0.1"}})), `network front: link_local_ips: invalid link-local IP address "10.0.0.1"`},
		{"sysctl without IFNAME", svc(on("front", types.ServiceNetworkConfig{DriverOpts: types.Options{"com.docker.network.endpoint.sysctls": "net.ipv4.conf.eth0.forwarding=1"}})),
			`network front: driver_opts com.docker.network.endpoint.sysctls: interface sysctl "net.ipv4.conf.eth0.forwarding=1": name the interface IFNAME`},
		{"sysctl outside net", svc(on("front", types.ServiceNetworkConfig{DriverOpts: types.Options{"com.docker.network.endpoint.sysctls": "kernel.IFNAME.x=1"}})),
			`network front: driver_opts com.docker.network.endpoint.sysctls: interface sysctl "kernel.IFNAME.x=1": only net.ipv4, net.ipv6 and net.mpls sysctls are per-interface`},
		{"same interface name twice", svc(func(s *types.ServiceConfig) {
			s.Networks = map[string]*types.ServiceNetworkConfig{"front": {InterfaceName: "app0"}, "plain": {InterfaceName: "app0"}}
		}), `networks front and plain ask for the same interface_name "app0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name = "x"
			err := CheckNetworking(p, tt.svc)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := `service "x": ` + tt.err + ": invalid argument"
			if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != want {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
		})
	}
}

func TestExtraHosts(t *testing.T) {
	tests := []struct {
		name    string
		hosts   types.HostsList
		gateway string
		want    []string
		err     string // "" = no error
	}{
		{"none", nil, "172.18.0.1", nil, ""},
		{"sorted by name", types.HostsList{"x": {"10.0.0.1"}, "gw": {"host-gateway"}}, "172.18.0.1", []string{"172.18.0.1\tgw", "10.0.0.1\tx"}, ""},
		{"several addresses", types.HostsList{"db": {"10.0.0.2", "fd00::2"}}, "", []string{"10.0.0.2\tdb", "fd00::2\tdb"}, ""},
		{"host-gateway without a network", types.HostsList{"gw": {"host-gateway"}}, "", nil, `service "a": extra_hosts gw=host-gateway needs a network`},
		{"not an address", types.HostsList{"db": {"db.local"}}, "172.18.0.1", nil, `service "a": extra_hosts db: invalid address "db.local"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := types.ServiceConfig{Name: "a"}
			svc.ExtraHosts = tt.hosts
			got, err := ExtraHosts(svc, tt.gateway)
			if tt.err != "" {
				if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != tt.err+": invalid argument" {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	tests := []struct {
		links []string
		want  map[string]string
	}{
		{nil, nil},
		{[]string{"db", "cache:cache"}, nil},
		{[]string{"db:database", "cache", "api:backend"}, map[string]string{"database": "db", "backend": "api"}},
	}
	for _, tt := range tests {
		svc := types.ServiceConfig{Links: tt.links}
		if got := Links(svc); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Links(%q) = %v, want %v", tt.links, got, tt.want)
		}
	}
}
