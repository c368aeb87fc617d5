package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
	"github.com/composer-dev/compose/volumes"
)

// CreateContainer is the body of `compose __create DIR`, which the
// container's supervisor runs to start each run of it: the network (set up
// before the container starts) and the container itself. It touches
// neither the image store nor the project.
func CreateContainer(ctx context.Context, dir, exe string) error {
	hooks, err := supervisorHooks(dir, exe)
	if err != nil {
		return err
	}
	return container.Create(ctx, dir, hooks)
}

// CleanupContainer is the body of `compose __cleanup DIR`, run by the
// supervisor after each run: the container is destroyed and its network
// endpoints released.
func CleanupContainer(ctx context.Context, dir, exe string) error {
	hooks, err := supervisorHooks(dir, exe)
	if err != nil {
		return err
	}
	return container.Cleanup(ctx, dir, hooks)
}

// supervisorHooks wire the runtime's hooks to the networks.
func supervisorHooks(dir, exe string) (container.Hooks, error) {
	if container.IsBuildStep(dir) { // a Dockerfile RUN: the host's network, no record
		return container.Hooks{}, nil
	}
	rec, err := record.Load(dir)
	if err != nil {
		return container.Hooks{}, err
	}
	root := filepath.Dir(filepath.Dir(dir)) // <root>/containers/<id>
	nets := &networks.Manager{StateDir: filepath.Join(root, "networks"), RunDir: RunDir(root), Exe: exe}
	hooks := networkHooks(nets, rec)
	vols := &volumes.Store{Dir: filepath.Join(root, "volumes")}
	prepare := hooks.Prepare
	hooks.Prepare = func(ctx context.Context, spec *runspec.Spec) error {
		if err := remountVolumes(ctx, vols, rec); err != nil {
			return err
		}
		return prepare(ctx, spec)
	}
	return hooks, nil
}

// remountVolumes mounts again the tmpfs of the tmpfs volumes the container
// uses where a reboot took it away: its bind would get the directory below.
func remountVolumes(ctx context.Context, vols *volumes.Store, rec *record.Record) error {
	for _, v := range rec.Volumes {
		if v.Type != "volume" || v.Name == "" {
			continue
		}
		if err := vols.Remount(ctx, v.Name); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	return nil
}

// networkHooks connect the container of rec to its networks before each
// run and disconnect it after.
func networkHooks(nets *networks.Manager, rec *record.Record) container.Hooks {
	return container.Hooks{
		Prepare: func(ctx context.Context, spec *runspec.Spec) error {
			return connect(ctx, nets, rec, spec)
		},
		Cleanup: func(ctx context.Context, spec *runspec.Spec) error {
			return disconnect(ctx, nets, rec)
		},
	}
}

// connect gives the container its network namespace and one interface per
// network, then writes its /etc/hosts with the first address.
func connect(ctx context.Context, nets *networks.Manager, rec *record.Record, spec *runspec.Spec) error {
	if joined, err := joinNetworkMode(nets, rec, spec); joined || err != nil {
		return err
	}
	ns, err := nets.CreateNetNS(rec.ID)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	spec.NetNS = ns
	var ip, ip6, firstIf string
	gw := gatewayNetwork(rec.Networks, func(name string) bool {
		n, err := nets.Get(name)
		return err == nil && n.Internal
	})
	for i, a := range rec.Networks {
		ep, err := nets.Connect(ctx, ns, a.Network, networks.Endpoint{ContainerID: rec.ID, ContainerName: rec.Name, Aliases: a.Aliases,
			IP: a.IPv4Address, IP6: a.IPv6Address, MAC: a.MacAddress, Links: rec.Links, DNS: rec.DNS,
			IfName: a.InterfaceName, LinkLocalIPs: a.LinkLocalIPs, Sysctls: a.Sysctls, NoGateway: i != gw})
		if err != nil {
			_ = disconnect(ctx, nets, rec) // the start's error says what went wrong
			return fmt.Errorf("network %s: %w", a.Network, err)
		}
		if ip == "" {
			ip, firstIf = ep.IP, ep.IfName
		}
		if ip6 == "" {
			ip6 = ep.IP6
		}
	}
	if len(rec.Networks) > 0 {
		// Killed since `up`? Names must keep resolving, and it holds the
		// published ports' sockets.
		names := make([]string, len(rec.Networks))
		for i, a := range rec.Networks {
			names[i] = a.Network
		}
		if err := nets.ReviveDNS(ctx, names...); err != nil {
			_ = disconnect(ctx, nets, rec) // the start's error says what went wrong
			return fmt.Errorf("dns server: %w", err)
		}
		if err := redirectDNS(nets, rec, ns, firstIf, ip); err != nil {
			_ = disconnect(ctx, nets, rec) // the start's error says what went wrong
			return err
		}
	}
	if err := publish(ctx, nets, rec, ip); err != nil {
		_ = disconnect(ctx, nets, rec) // the start's error says what went wrong
		return fmt.Errorf("published ports: %w", err)
	}
	extra := rec.ExtraHosts
	if ip6 != "" { // the container's own IPv6 name, as Docker writes it
		extra = append([]string{ip6 + "\t" + spec.Hostname}, extra...)
	}
	return writeHosts(rec.Dir, spec.Hostname, ip, extra...)
}

// gatewayNetwork is the index of the network that gives the container its
// default route: the highest gw_priority, internal networks last, the
// first in connection order among equals (as Docker picks the gateway
// endpoint); -1 when all are internal.
func gatewayNetwork(atts []record.Attachment, internal func(string) bool) int {
	best := -1
	for i, a := range atts {
		if internal(a.Network) {
			continue
		}
		if best < 0 || a.GwPriority > atts[best].GwPriority {
			best = i
		}
	}
	return best
}

// disconnect releases the container's ports and addresses and deletes its
// network namespace; the kernel takes the veths away with it. It does all
// it can and returns what failed: what is gone already is no error, so
// it can be called again until it succeeds.
func disconnect(ctx context.Context, nets *networks.Manager, rec *record.Record) error {
	var errs []error
	if err := networks.Unpublish(rec.ID); err != nil {
		errs = append(errs, fmt.Errorf("published ports: %w", err))
	}
	if len(rec.Ports) > 0 {
		// The DNS server holds the sockets; one that does not answer lets
		// them go when it restarts.
		_ = networks.ReleasePorts(ctx, nets.RunDir, rec.ID)
	}
	for _, a := range rec.Networks {
		if err := nets.Detach(ctx, a.Network, rec.ID); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", a.Network, err))
		}
	}
	if err := nets.DeleteNetNS(rec.ID); err != nil {
		errs = append(errs, fmt.Errorf("network namespace: %w", err))
	}
	return errors.Join(errs...)
}

// redirectDNS sends the container's queries to 127.0.0.11 (its
// resolv.conf's nameserver, as with Docker) to the DNS server on the
// gateway of its first network.
func redirectDNS(nets *networks.Manager, rec *record.Record, ns, ifName, ip string) error {
	n, err := nets.Get(rec.Networks[0].Network)
	if err != nil {
		return fmt.Errorf("network %s: %w", rec.Networks[0].Network, err)
	}
	gw, err := netip.ParseAddr(n.Gateway)
	if err != nil {
		return fmt.Errorf("network %s gateway %q: %w", n.Name, n.Gateway, errdefs.ErrInvalidArgument)
	}
	src, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("container address %q: %w", ip, errdefs.ErrInvalidArgument)
	}
	if err := networks.RedirectDNS(ns, ifName, gw, src); err != nil {
		return fmt.Errorf("embedded dns: %w", err)
	}
	return nil
}
