package specgen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

// PortSpec is one published port as the compose file asks for it: a fixed
// host port, a host port range to pick from, or none (ephemeral).
type PortSpec struct {
	networks.PortMapping
	RangeEnd uint16 // > HostPort when a range "8080-8089" was given
}

// Ephemeral reports whether the host port is left for the engine to pick.
func (s PortSpec) Ephemeral() bool { return s.HostPort == 0 }

// Ports validates and converts the service's ports (any syntax compose-go
// parses: short, long, ranges, host_ip, /udp; mode and app_protocol are
// accepted and have no effect on a single host).
func Ports(svc types.ServiceConfig) ([]PortSpec, error) {
	var out []PortSpec
	for _, p := range svc.Ports {
		s, err := portSpecOf(p)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func portSpecOf(p types.ServicePortConfig) (PortSpec, error) {
	proto := strings.ToLower(p.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if p.Target == 0 || p.Target > 65535 {
		return PortSpec{}, fmt.Errorf("port %d: invalid container port: %w", p.Target, errdefs.ErrInvalidArgument)
	}
	if p.Mode != "" && p.Mode != "ingress" && p.Mode != "host" {
		return PortSpec{}, fmt.Errorf("port %d: mode %q (ingress, host): %w", p.Target, p.Mode, errdefs.ErrInvalidArgument)
	}
	// host_ip 0.0.0.0 stays: like Docker, it publishes on IPv4 only, where
	// no host_ip publishes on IPv6 ([::]) too.
	s := PortSpec{PortMapping: networks.PortMapping{HostIP: p.HostIP, ContainerPort: uint16(p.Target), Protocol: proto}}
	if p.Published != "" {
		lo, hi, isRange := strings.Cut(p.Published, "-")
		first, err := parsePort(lo)
		if err != nil {
			return PortSpec{}, fmt.Errorf("published port %q: %w", p.Published, err)
		}
		s.HostPort = first
		if isRange {
			last, err := parsePort(hi)
			if err != nil || last < first {
				return PortSpec{}, fmt.Errorf("published port range %q: %w", p.Published, errdefs.ErrInvalidArgument)
			}
			s.RangeEnd = last
		}
	}
	if err := networks.ValidatePort(s.PortMapping); err != nil {
		return PortSpec{}, err
	}
	return s, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q: %w", s, errdefs.ErrInvalidArgument)
	}
	return uint16(n), nil
}
