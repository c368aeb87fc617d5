package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
)

// exposedPorts are the ports Docker gives a service's container as exposed
// (the image's EXPOSE, the service's expose and its ports' targets), "80/tcp"
// each, in port order. ps shows those not published, as Docker does.
func exposedPorts(svc types.ServiceConfig, img *image.Image) ([]string, error) {
	if svc.NetworkMode != "" { // the network belongs to another (or the host): no ports of its own
		return nil, nil
	}
	set := map[string]bool{}
	if img != nil {
		for p := range img.Config.ExposedPorts {
			set[p] = true
		}
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
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		set[fmt.Sprintf("%d/%s", p.Target, proto)] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.SortFunc(out, comparePortProto)
	return out, nil
}

// expandExpose turns an expose entry ("3000", "8000-8002", "53/udp") into
// "port/proto" items.
func expandExpose(e string) ([]string, error) {
	spec, proto, _ := strings.Cut(e, "/")
	if proto == "" {
		proto = "tcp"
	}
	first, last, isRange := strings.Cut(spec, "-")
	lo, err := strconv.ParseUint(first, 10, 16)
	if err != nil {
		return nil, errdefs.Mark(errdefs.ErrInvalidArgument, fmt.Errorf("invalid port %q", first))
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(last, 10, 16); err != nil || hi < lo {
			return nil, errdefs.Mark(errdefs.ErrInvalidArgument, fmt.Errorf("invalid port range %q", spec))
		}
	}
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// comparePortProto orders "port/proto" items by port number, then protocol.
func comparePortProto(a, b string) int {
	pa, qa, _ := strings.Cut(a, "/")
	pb, qb, _ := strings.Cut(b, "/")
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if na != nb {
		return na - nb
	}
	return strings.Compare(qa, qb)
}
