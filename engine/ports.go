package engine

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

// checkPorts finds, before anything is created, host ports that can not be
// published: taken by a program on the host, by another container, twice
// in the plan, or fixed on a service with several replicas. The
// containers the plan replaces (this project's, same service) do not count.
func (e *Engine) checkPorts(pl *plan) error {
	published, err := e.publishedPorts()
	if err != nil {
		return err
	}
	var planned []networks.PortMapping
	for _, name := range pl.graph.Services() {
		svc, err := pl.project.GetService(name)
		if err != nil {
			return err
		}
		if svc.NetworkMode != "" && !specgen.DefaultBridge(svc) {
			continue // its ports are discarded (see createWith)
		}
		mine, err := e.serviceIDs(pl.project.Name, name)
		if err != nil {
			return err
		}
		if err := checkServicePorts(svc, published, mine, &planned); err != nil {
			return err
		}
	}
	return nil
}

// checkServicePorts checks the service's fixed host ports against the host,
// the published map (except mine) and the ports planned so far.
func checkServicePorts(svc types.ServiceConfig, published map[networks.PortMapping]string, mine map[string]bool, planned *[]networks.PortMapping) error {
	specs, err := specgen.Ports(svc)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if s.Ephemeral() || s.RangeEnd > 0 {
			continue
		}
		if svc.GetScale() > 1 {
			return fmt.Errorf("service %q: host port %s can not be published by %d replicas: %w", svc.Name, s.Key(), svc.GetScale(), errdefs.ErrConflict)
		}
		for _, q := range *planned {
			if networks.Overlap(q, s.PortMapping) {
				return fmt.Errorf("service %q: bind for %s failed: port is already allocated: %w", svc.Name, s.Key(), errdefs.ErrConflict)
			}
		}
		*planned = append(*planned, s.PortMapping)
		if err := networks.CheckPortFree(s.PortMapping, published, mine); err != nil {
			return fmt.Errorf("service %q: %w", svc.Name, err)
		}
	}
	return nil
}

// runPorts sets the ports a `run` container publishes: none of the
// service's unless --service-ports, plus each -p; checked before anything
// is created.
func runPorts(svc *types.ServiceConfig, opts RunOptions) error {
	if !opts.ServicePorts {
		svc.Ports = nil
	}
	for _, p := range opts.Publish {
		ps, err := types.ParsePortConfig(p)
		if err != nil {
			return fmt.Errorf("publish %q: %v: %w", p, err, errdefs.ErrInvalidArgument)
		}
		svc.Ports = append(svc.Ports, ps...)
	}
	if len(svc.Ports) == 0 {
		return nil
	}
	published, err := networks.PublishedPorts()
	if err != nil {
		return err
	}
	var planned []networks.PortMapping
	one := *svc
	one.Scale = nil
	one.Deploy = nil
	return checkServicePorts(one, published, nil, &planned)
}

// serviceIDs are the 12-char id prefixes of the service's containers.
func (e *Engine) serviceIDs(projectName, service string) (map[string]bool, error) {
	recs, err := e.serviceContainers(projectName, service)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.ID[:12]] = true
	}
	return ids, nil
}

// portReservations are the host ports given to new containers, which
// publish them only when they start: replicas created side by side take
// different ports from a range ("6005-6015:80"), as Docker gives each
// container its own.
type portReservations struct {
	mu    sync.Mutex
	taken []networks.PortMapping
}

// allocate turns specs into concrete mappings for a new container:
// ephemeral ports get a free host port now, ranges their first free port
// that no other container of the plan has taken.
func (pr *portReservations) allocate(specs []specgen.PortSpec) ([]networks.PortMapping, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	if pr == nil { // a plan made without reservations: this container's own
		pr = &portReservations{}
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	published, err := networks.PublishedPorts()
	if err != nil {
		return nil, err
	}
	var out []networks.PortMapping
	for _, s := range specs {
		m := s.PortMapping
		switch {
		case s.Ephemeral():
			if m.HostPort, err = networks.FreePort(m, published); err != nil {
				return nil, err
			}
		case s.RangeEnd > 0:
			found := false
			for p := int(s.HostPort); p <= int(s.RangeEnd) && !found; p++ {
				m.HostPort = uint16(p)
				found = !usedIn(out, m) && !usedIn(pr.taken, m) && networks.CheckPortFree(m, published, nil) == nil
			}
			if !found {
				return nil, fmt.Errorf("no free host port in %d-%d/%s: %w", s.HostPort, s.RangeEnd, s.Protocol, errdefs.ErrConflict)
			}
		}
		published[m] = "planned"
		out = append(out, m)
	}
	pr.taken = append(pr.taken, out...)
	return out, nil
}

func usedIn(ms []networks.PortMapping, m networks.PortMapping) bool {
	for _, q := range ms {
		if q.HostPort == m.HostPort && q.Protocol == m.Protocol {
			return true
		}
	}
	return false
}

// publish holds the host sockets of the container's ports (the DNS server
// process keeps them, as docker-proxy does) and DNATs them to its address
// on its first network.
func publish(ctx context.Context, nets *networks.Manager, rec *record.Record, ip string) error {
	if len(rec.Ports) == 0 || len(rec.Networks) == 0 {
		return nil
	}
	n, err := nets.Get(rec.Networks[0].Network)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("container address %q: %w", ip, errdefs.ErrInvalidArgument)
	}
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return err
	}
	if err := networks.HoldPorts(ctx, nets.RunDir, rec.ID, addr, rec.Ports); err != nil {
		return err
	}
	if err := networks.Publish(rec.ID, addr, subnet, rec.Ports); err != nil {
		_ = networks.ReleasePorts(ctx, nets.RunDir, rec.ID)
		return err
	}
	return nil
}

// PortOptions are the arguments of `compose port`.
type PortOptions struct {
	Service  string
	Port     uint16
	Protocol string // default tcp
	Index    int    // replica number, default 1
	Out      io.Writer
}

// Port prints the host address a container port is published on
// ("0.0.0.0:8080"); ErrNotFound when it is not published.
func (e *Engine) Port(ctx context.Context, projectName string, opts PortOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	proto := strings.ToLower(opts.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	index := opts.Index
	if index == 0 {
		index = 1
	}
	recs, err := e.serviceContainers(projectName, opts.Service)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Number != index {
			continue
		}
		for _, m := range r.Ports {
			if m.ContainerPort == opts.Port && m.Protocol == proto {
				ip := m.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				fmt.Fprintf(opts.Out, "%s:%d\n", ip, m.HostPort)
				return nil
			}
		}
		return fmt.Errorf("no port %d/%s published for %s: %w", opts.Port, proto, r.Name, errdefs.ErrNotFound)
	}
	return fmt.Errorf("service %q has no container with index %d: %w", opts.Service, index, errdefs.ErrNotFound)
}
