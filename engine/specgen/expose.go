package specgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// Exposed is the container's set of exposed ports as Docker records it
// (Config.ExposedPorts): the image's EXPOSE, the service's `expose`
// ("80", "53/udp", ranges "8000-8002") and the targets of its `ports`,
// each as "port/protocol", sorted by port then protocol.
func Exposed(svc types.ServiceConfig, img v1.Config) ([]string, error) {
	if svc.NetworkMode != "" { // the network is another's (or the host's): no ports of its own
		return nil, nil
	}
	set := map[string]bool{}
	for p := range img.ExposedPorts {
		set[normalizeExposed(p)] = true
	}
	for _, e := range svc.Expose {
		ports, err := expandExpose(e)
		if err != nil {
			return nil, fmt.Errorf("service %q: expose %q: %w", svc.Name, e, err)
		}
		for _, p := range ports {
			set[p] = true
		}
	}
	for _, p := range svc.Ports {
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		if p.Target > 0 {
			set[fmt.Sprintf("%d/%s", p.Target, proto)] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.SortFunc(out, compareExposed)
	return out, nil
}

// normalizeExposed adds the default protocol an image's EXPOSE may lack.
func normalizeExposed(p string) string {
	if !strings.Contains(p, "/") {
		return p + "/tcp"
	}
	return p
}

// expandExpose turns one `expose` entry into "port/protocol" items.
func expandExpose(e string) ([]string, error) {
	spec, proto, hasProto := strings.Cut(strings.TrimSpace(e), "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid protocol %q (tcp, udp or sctp): %w", proto, errdefs.ErrInvalidArgument)
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	first, err := parsePort(lo)
	if err != nil {
		return nil, err
	}
	last := first
	if isRange {
		if last, err = parsePort(hi); err != nil {
			return nil, err
		}
		if last < first {
			return nil, fmt.Errorf("invalid port range %s: %w", spec, errdefs.ErrInvalidArgument)
		}
	}
	out := make([]string, 0, int(last-first)+1)
	for p := int(first); p <= int(last); p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

func compareExposed(a, b string) int {
	pa, qa, _ := strings.Cut(a, "/")
	pb, qb, _ := strings.Cut(b, "/")
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if na != nb {
		return na - nb
	}
	return strings.Compare(qa, qb)
}
