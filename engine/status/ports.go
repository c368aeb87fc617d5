package status

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/composer-dev/compose/engine/record"
)

// port is one of a container's ports as Docker's container list reports it:
// a published mapping, or an exposed port (no IP, no public port).
type port struct {
	ip              string
	private, public uint16
	proto           string
}

// containerPorts are r's published mappings, then its exposed ports that
// are not published, each once.
func containerPorts(r *record.Record) []port {
	var out []port
	published := map[string]bool{}
	for _, m := range r.Ports {
		ip := m.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out = append(out, port{ip: ip, private: m.ContainerPort, public: m.HostPort, proto: m.Protocol})
		published[fmt.Sprintf("%d/%s", m.ContainerPort, m.Protocol)] = true
	}
	for _, e := range r.Exposed {
		if published[e] {
			continue
		}
		num, proto, _ := strings.Cut(e, "/")
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			continue // not written by us: nothing to show
		}
		out = append(out, port{private: uint16(n), proto: proto})
	}
	return out
}

// publishers is `ps --format json`'s Publishers: every port, ordered by
// container port (pkg/compose/ps.go).
func publishers(ports []port) []PortPublisher {
	sorted := slices.Clone(ports)
	slices.SortStableFunc(sorted, func(a, b port) int { return cmp.Compare(a.private, b.private) })
	out := make([]PortPublisher, 0, len(sorted))
	for _, p := range sorted {
		out = append(out, PortPublisher{URL: p.ip, TargetPort: int(p.private), PublishedPort: int(p.public), Protocol: p.proto})
	}
	return out
}

// displayPorts is the PORTS column as the docker CLI's DisplayablePorts
// writes it (cli/command/formatter/container.go): "80/tcp",
// "0.0.0.0:8080->80/tcp", consecutive ports published on the same
// numbers or only exposed grouped into ranges ("8000-8002/tcp"), mappings
// to other host ports last.
func displayPorts(ports []port) string {
	sorted := slices.Clone(ports)
	slices.SortFunc(sorted, func(a, b port) int {
		return cmp.Or(cmp.Compare(a.private, b.private), strings.Compare(a.ip, b.ip),
			cmp.Compare(a.public, b.public), strings.Compare(a.proto, b.proto))
	})
	type group struct{ first, last uint16 }
	groups := map[string]*group{}
	var keys, out, mappings []string
	for _, p := range sorted {
		key := p.proto
		if p.ip != "" {
			if p.public != p.private {
				mappings = append(mappings, fmt.Sprintf("%s:%d->%d/%s", p.ip, p.public, p.private, p.proto))
				continue
			}
			key = p.ip + "/" + p.proto
		}
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &group{p.private, p.private}
			keys = append(keys, key)
		case p.private == g.last+1:
			g.last = p.private
		default:
			out = append(out, portGroup(key, g.first, g.last))
			groups[key] = &group{p.private, p.private}
		}
	}
	for _, k := range keys {
		out = append(out, portGroup(k, groups[k].first, groups[k].last))
	}
	return strings.Join(append(out, mappings...), ", ")
}

// portGroup writes one group: "80/tcp", "8000-8002/tcp", or with an IP
// "0.0.0.0:8000-8002->8000-8002/tcp".
func portGroup(key string, first, last uint16) string {
	ip, proto, hasIP := strings.Cut(key, "/")
	if !hasIP {
		ip, proto = "", key
	}
	r := strconv.Itoa(int(first))
	if first != last {
		r += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		r = ip + ":" + r + "->" + r
	}
	return r + "/" + proto
}
