package engine

import (
	"errors"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

func TestPortSpecOf(t *testing.T) {
	tests := []struct {
		in   types.ServicePortConfig
		want portSpec
		err  error
	}{
		{types.ServicePortConfig{Target: 80, Published: "8080"}, portSpec{PortMapping: networks.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}, nil},
		{types.ServicePortConfig{Target: 53, Published: "53", Protocol: "UDP", HostIP: "127.0.0.1"}, portSpec{PortMapping: networks.PortMapping{HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Protocol: "udp"}}, nil},
		{types.ServicePortConfig{Target: 80, Published: "8000-8009", Mode: "host", AppProtocol: "http"}, portSpec{PortMapping: networks.PortMapping{HostPort: 8000, ContainerPort: 80, Protocol: "tcp"}, rangeEnd: 8009}, nil},
		{types.ServicePortConfig{Target: 80, HostIP: "0.0.0.0"}, portSpec{PortMapping: networks.PortMapping{ContainerPort: 80, Protocol: "tcp"}}, nil},
		{types.ServicePortConfig{Target: 80, Published: "x"}, portSpec{}, errdefs.ErrInvalidArgument},
		{types.ServicePortConfig{Target: 80, Published: "90-80"}, portSpec{}, errdefs.ErrInvalidArgument},
		{types.ServicePortConfig{Target: 80, Protocol: "sctp"}, portSpec{}, errdefs.ErrInvalidArgument},
		{types.ServicePortConfig{Target: 80, HostIP: "::1"}, portSpec{}, errdefs.ErrInvalidArgument},
		{types.ServicePortConfig{Target: 80, Mode: "swarm"}, portSpec{}, errdefs.ErrInvalidArgument},
		{types.ServicePortConfig{}, portSpec{}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := portSpecOf(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%+v: err %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	// Every short syntax compose-go parses converts.
	for _, short := range []string{"80", "8080:80", "127.0.0.1:8080:80", "8080-8082:80-82", "53:53/udp", "127.0.0.1::80", "9000-9009:80"} {
		ps, err := types.ParsePortConfig(short)
		if err != nil {
			t.Fatalf("%s: %v", short, err)
		}
		for _, p := range ps {
			if _, err := portSpecOf(p); err != nil {
				t.Errorf("%s: %v", short, err)
			}
		}
	}
}

func TestNetworkOptions(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		in   types.NetworkConfig
		err  error
	}{
		{"plain", types.NetworkConfig{}, nil},
		{"ipam", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/16", Gateway: "10.5.0.254", IPRange: "10.5.1.0/24", AuxiliaryAddresses: types.Mapping{"a": "10.5.0.3"}}}}}, nil},
		{"driver opts", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.name": "mybr0", "com.docker.network.driver.mtu": "1400"}}, nil},
		{"overlay", types.NetworkConfig{Driver: "overlay"}, errdefs.ErrInvalidArgument},
		{"ipv6", types.NetworkConfig{EnableIPv6: &yes}, nil},
		{"ipv6 subnets", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/16"}, {Subnet: "fd12::/64", Gateway: "fd12::1"}}}}, nil},
		{"ipv6 without enable", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "fd12::/64"}}}}, errdefs.ErrInvalidArgument},
		{"two ipv6 subnets", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "fd12::/64"}, {Subnet: "fd13::/64"}}}}, errdefs.ErrInvalidArgument},
		{"ipv6 gateway outside", types.NetworkConfig{EnableIPv6: &yes, Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "fd12::/64", Gateway: "fd13::1"}}}}, errdefs.ErrInvalidArgument},
		{"ipam driver", types.NetworkConfig{Ipam: types.IPAMConfig{Driver: "dhcp"}}, errdefs.ErrInvalidArgument},
		{"gateway outside", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/16", Gateway: "10.6.0.1"}}}}, errdefs.ErrInvalidArgument},
		{"range outside", types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/16", IPRange: "10.6.0.0/24"}}}}, errdefs.ErrInvalidArgument},
		{"bad mtu", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.driver.mtu": "big"}}, errdefs.ErrInvalidArgument},
		{"long bridge", types.NetworkConfig{DriverOpts: types.Options{"com.docker.network.bridge.name": "a-very-long-bridge-name"}}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		tt.in.Name = "p_" + tt.name
		o, err := networkOptions(tt.name, tt.in)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: %+v, %v; want %v", tt.name, o, err, tt.err)
		}
	}
}

func TestCheckServiceNetworking(t *testing.T) {
	p := &types.Project{Networks: types.Networks{
		"front": {Name: "p_front", Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/24"}}}},
		"plain": {Name: "p_plain"},
	}}
	two := 2
	svc := func(f func(s *types.ServiceConfig)) types.ServiceConfig {
		var s types.ServiceConfig
		f(&s)
		return s
	}
	static := func(key, ip string) func(s *types.ServiceConfig) {
		return func(s *types.ServiceConfig) {
			s.Networks = map[string]*types.ServiceNetworkConfig{key: {Ipv4Address: ip}}
		}
	}
	tests := []struct {
		name string
		svc  types.ServiceConfig
		err  error
	}{
		{"host", svc(func(s *types.ServiceConfig) { s.NetworkMode = "host" }), nil},
		{"service", svc(func(s *types.ServiceConfig) { s.NetworkMode = "service:db" }), nil},
		{"static", svc(static("front", "10.5.0.9")), nil},
		{"bogus mode", svc(func(s *types.ServiceConfig) { s.NetworkMode = "bridge2" }), errdefs.ErrInvalidArgument},
		{"mode and networks", svc(func(s *types.ServiceConfig) {
			s.NetworkMode = "host"
			s.Networks = map[string]*types.ServiceNetworkConfig{"front": nil}
		}), errdefs.ErrInvalidArgument},
		{"static outside", svc(static("front", "10.6.0.9")), errdefs.ErrInvalidArgument},
		{"static without subnet", svc(static("plain", "10.6.0.9")), errdefs.ErrInvalidArgument},
		{"static replicas", svc(func(s *types.ServiceConfig) { static("front", "10.5.0.9")(s); s.Scale = &two }), errdefs.ErrInvalidArgument},
		{"bad mac", svc(func(s *types.ServiceConfig) { s.MacAddress = "zz" }), errdefs.ErrInvalidArgument},
		{"ipv6", svc(func(s *types.ServiceConfig) {
			s.Networks = map[string]*types.ServiceNetworkConfig{"front": {Ipv6Address: "fd00::2"}}
		}), errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		tt.svc.Name = tt.name
		err := checkServiceNetworking(p, tt.svc)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.err)
		}
	}
}

func TestExtraHostsAndLinks(t *testing.T) {
	var svc types.ServiceConfig
	svc.Name = "a"
	svc.ExtraHosts = types.HostsList{"gw": {"host-gateway"}, "x": {"10.0.0.1"}}
	svc.Links = []string{"db:database", "cache"}
	lines, err := extraHosts(svc, "172.18.0.1")
	if err != nil || len(lines) != 2 || lines[0] != "172.18.0.1\tgw" || lines[1] != "10.0.0.1\tx" {
		t.Fatalf("extraHosts = %q, %v", lines, err)
	}
	if _, err := extraHosts(svc, ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("host-gateway without a network: %v", err)
	}
	if l := serviceLinks(svc); len(l) != 1 || l["database"] != "db" {
		t.Fatalf("links %v", l)
	}
}
