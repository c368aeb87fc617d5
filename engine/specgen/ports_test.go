package specgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

func TestPortSpecOf(t *testing.T) {
	pm := func(ip string, host, ctr uint16, proto string) networks.PortMapping {
		return networks.PortMapping{HostIP: ip, HostPort: host, ContainerPort: ctr, Protocol: proto}
	}
	tests := []struct {
		in   types.ServicePortConfig
		want PortSpec
		err  string // part of the message; "" = no error
	}{
		{types.ServicePortConfig{Target: 80, Published: "8080"}, PortSpec{PortMapping: pm("", 8080, 80, "tcp")}, ""},
		{types.ServicePortConfig{Target: 53, Published: "53", Protocol: "UDP", HostIP: "127.0.0.1"}, PortSpec{PortMapping: pm("127.0.0.1", 53, 53, "udp")}, ""},
		{types.ServicePortConfig{Target: 80, Published: "8000-8009", Mode: "host", AppProtocol: "http"}, PortSpec{PortMapping: pm("", 8000, 80, "tcp"), RangeEnd: 8009}, ""},
		{types.ServicePortConfig{Target: 80, Published: "8000-8000"}, PortSpec{PortMapping: pm("", 8000, 80, "tcp"), RangeEnd: 8000}, ""},
		{types.ServicePortConfig{Target: 80, HostIP: "0.0.0.0"}, PortSpec{PortMapping: pm("0.0.0.0", 0, 80, "tcp")}, ""},
		{types.ServicePortConfig{Target: 80, Mode: "ingress"}, PortSpec{PortMapping: pm("", 0, 80, "tcp")}, ""},
		{types.ServicePortConfig{Target: 80, Published: "x"}, PortSpec{}, `published port "x": port "x"`},
		{types.ServicePortConfig{Target: 80, Published: "0"}, PortSpec{}, `published port "0"`},
		{types.ServicePortConfig{Target: 80, Published: "70000"}, PortSpec{}, `published port "70000"`},
		{types.ServicePortConfig{Target: 80, Published: "90-80"}, PortSpec{}, `published port range "90-80"`},
		{types.ServicePortConfig{Target: 80, Published: "90-x"}, PortSpec{}, `published port range "90-x"`},
		{types.ServicePortConfig{Target: 80, Protocol: "sctp"}, PortSpec{}, `protocol "sctp" is not supported`},
		{types.ServicePortConfig{Target: 80, HostIP: "::1"}, PortSpec{}, `host ip "::1" is not an IPv4 address`},
		{types.ServicePortConfig{Target: 80, HostIP: "localhost"}, PortSpec{}, `host ip "localhost"`},
		{types.ServicePortConfig{Target: 80, Mode: "swarm"}, PortSpec{}, `mode "swarm"`},
		{types.ServicePortConfig{}, PortSpec{}, "port 0: invalid container port"},
		{types.ServicePortConfig{Target: 70000}, PortSpec{}, "port 70000: invalid container port"},
	}
	for _, tt := range tests {
		got, err := portSpecOf(tt.in)
		if tt.err != "" {
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: err %v, want invalid argument with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestPortsShortSyntax converts every short syntax compose-go parses.
func TestPortsShortSyntax(t *testing.T) {
	tests := []struct {
		short string
		want  []PortSpec
	}{
		{"80", []PortSpec{{PortMapping: networks.PortMapping{ContainerPort: 80, Protocol: "tcp"}}}},
		{"8080:80", []PortSpec{{PortMapping: networks.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}},
		{"127.0.0.1:8080:80", []PortSpec{{PortMapping: networks.PortMapping{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}},
		{"127.0.0.1::80", []PortSpec{{PortMapping: networks.PortMapping{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}}},
		{"53:53/udp", []PortSpec{{PortMapping: networks.PortMapping{HostPort: 53, ContainerPort: 53, Protocol: "udp"}}}},
		{"8080-8081:80-81", []PortSpec{
			{PortMapping: networks.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
			{PortMapping: networks.PortMapping{HostPort: 8081, ContainerPort: 81, Protocol: "tcp"}},
		}},
		{"9000-9009:80", []PortSpec{{PortMapping: networks.PortMapping{HostPort: 9000, ContainerPort: 80, Protocol: "tcp"}, RangeEnd: 9009}}},
	}
	for _, tt := range tests {
		ps, err := types.ParsePortConfig(tt.short)
		if err != nil {
			t.Fatalf("%s: %v", tt.short, err)
		}
		got, err := Ports(types.ServiceConfig{Name: "web", WorkloadSpec: types.WorkloadSpec{Ports: ps}})
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.short, got, err, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: [%d] = %+v, want %+v", tt.short, i, got[i], tt.want[i])
			}
		}
		if eph := got[0].Ephemeral(); eph != (tt.want[0].HostPort == 0) {
			t.Errorf("%s: Ephemeral() = %v", tt.short, eph)
		}
	}
}

func TestPortsErrorNamesService(t *testing.T) {
	svc := types.ServiceConfig{Name: "web", WorkloadSpec: types.WorkloadSpec{Ports: []types.ServicePortConfig{{Target: 80}, {Target: 81, Protocol: "sctp"}}}}
	_, err := Ports(svc)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), `service "web": port 81: protocol "sctp"`) {
		t.Fatalf("err = %v", err)
	}
	if got, err := Ports(types.ServiceConfig{Name: "web"}); got != nil || err != nil {
		t.Fatalf("no ports: %v, %v", got, err)
	}
}
