package networks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// ipamLockPath is host-wide: every state root picks subnets under it, and
// the bridge (with its address) exists before it is released, so the next
// picker sees the subnet as taken.
var ipamLockPath = "/run/compose/ipam.lock"

// Ensure returns the network called name, creating its bridge, subnet and
// NAT rules if it does not exist yet. For an existing network it repairs
// missing kernel objects (e.g. after a reboot) and keeps its labels.
func (m *Manager) Ensure(ctx context.Context, name string, labels map[string]string) (*Network, error) {
	return m.EnsureWith(ctx, name, Options{Labels: labels})
}

// EnsureWith is Ensure with the options of a new network (ipam config,
// internal, bridge name, MTU); they are checked before anything is created.
func (m *Manager) EnsureWith(ctx context.Context, name string, opts Options) (*Network, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if err := ValidateOptions(name, opts); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()

	n, err := m.load(name)
	switch {
	case err == nil:
		if err := reviveBridge(ctx, n); err != nil {
			return nil, err
		}
		if err := ensureNFT(n); err != nil {
			return nil, err
		}
		return n, nil
	case !errdefs.IsNotFound(err):
		return nil, err
	}

	n = &Network{Name: name, ID: randomHex(32), Labels: opts.Labels, IPRange: opts.IPRange, AuxAddresses: opts.AuxAddresses,
		Internal: opts.Internal, Attachable: opts.Attachable, MTU: opts.MTU, Created: time.Now().UTC(),
		NoICC: opts.NoICC, NoMasquerade: opts.NoMasquerade, DefaultBridge: opts.DefaultBridge}
	n.Bridge = "br-" + n.ID[:12]
	if opts.BridgeName != "" {
		n.Bridge = opts.BridgeName
	}
	n.BridgeMAC = randomMAC().String()
	if err := m.allocateBridge(ctx, n, opts); err != nil {
		return nil, err
	}
	if err := ensureNFT(n); err != nil {
		_ = removeNFT(n.Bridge)
		_ = deleteBridge(n.Bridge)
		return nil, err
	}
	if err := m.save(n); err != nil {
		_ = removeNFT(n.Bridge)
		_ = deleteBridge(n.Bridge)
		return nil, err
	}
	return n, nil
}

// allocateBridge picks a free subnet and creates the bridge under the
// host-wide IPAM lock.
func (m *Manager) allocateBridge(ctx context.Context, n *Network, opts Options) error {
	l, err := store.Lock(ctx, ipamLockPath)
	if err != nil {
		return err
	}
	defer l.Unlock()
	used, err := hostSubnets()
	if err != nil {
		return err
	}
	// Our own records count too: their bridges may be gone after a reboot.
	recs, err := listRecords(m.StateDir)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if p, err := netip.ParsePrefix(r.Subnet); err == nil {
			used = append(used, p)
		}
	}
	if opts.BridgeName != "" {
		if _, err := netlink.LinkByName(opts.BridgeName); err == nil {
			return fmt.Errorf("network %q: bridge %s already exists: %w", n.Name, opts.BridgeName, errdefs.ErrConflict)
		}
	}
	var subnet netip.Prefix
	if opts.Subnet != "" {
		subnet = netip.MustParsePrefix(opts.Subnet).Masked() // checked by validateOptions
		for _, u := range used {
			if subnet.Overlaps(u) {
				return fmt.Errorf("network %q: subnet %s overlaps %s, already in use on this host: %w", n.Name, subnet, u, errdefs.ErrConflict)
			}
		}
	} else if subnet, err = pickSubnet(defaultPool(), used); err != nil {
		return err
	}
	n.Subnet = subnet.String()
	n.Gateway = gatewayOf(subnet).String()
	if opts.Gateway != "" {
		n.Gateway = opts.Gateway
	}
	if opts.EnableIPv6 {
		used6, err := hostSubnets6()
		if err != nil {
			return err
		}
		for _, r := range recs {
			if p, err := netip.ParsePrefix(r.Subnet6); err == nil {
				used6 = append(used6, p)
			}
		}
		subnet6, err := pickSubnet6(n.Name, opts.Subnet6, used6)
		if err != nil {
			return err
		}
		n.Subnet6, n.Gateway6 = subnet6.String(), subnet6.Addr().Next().String()
		if opts.Gateway6 != "" {
			n.Gateway6 = opts.Gateway6
		}
	}
	if err := ensureBridge(n); err != nil {
		_ = deleteBridge(n.Bridge)
		return err
	}
	return nil
}

// reviveBridge is ensureBridge for an existing network. A bridge that is
// gone (a reboot) comes back under the host-wide IPAM lock, so that no
// other state root picks its subnet meanwhile; a subnet another network
// took since is an error naming it, rather than two bridges on one subnet.
func reviveBridge(ctx context.Context, n *Network) error {
	if linkExists(n.Bridge) {
		return ensureBridge(n)
	}
	l, err := store.Lock(ctx, ipamLockPath)
	if err != nil {
		return err
	}
	defer l.Unlock()
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return fmt.Errorf("network %q subnet: %w", n.Name, err)
	}
	used, err := hostSubnets()
	if err != nil {
		return err
	}
	for _, u := range used {
		if subnet.Overlaps(u) {
			return fmt.Errorf("network %q: its subnet %s overlaps %s, taken on this host since its bridge %s went away (remove one of them): %w",
				n.Name, subnet, u, n.Bridge, errdefs.ErrConflict)
		}
	}
	return ensureBridge(n)
}

// Get returns the network's record; errdefs.ErrNotFound if there is none.
func (m *Manager) Get(name string) (*Network, error) {
	return m.load(name)
}

// List returns every network of this state root, sorted by name.
func (m *Manager) List() ([]Network, error) {
	return listRecords(m.StateDir)
}

// Remove deletes the network's bridge, nftables rules and record, and tells
// the DNS server. errdefs.ErrConflict while endpoints remain.
func (m *Manager) Remove(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	n, err := m.load(name)
	if err != nil {
		return err
	}
	if len(n.Endpoints) > 0 {
		return fmt.Errorf("network %q has %d active endpoints: %w", name, len(n.Endpoints), errdefs.ErrConflict)
	}
	if err := removeNFT(n.Bridge); err != nil {
		return err
	}
	if err := deleteBridge(n.Bridge); err != nil {
		return err
	}
	if err := os.Remove(recordPath(m.StateDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m.notifyDNS()
	return nil
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// randomMAC is a locally administered unicast address.
func randomMAC() net.HardwareAddr {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	b[0] = (b[0] | 0x02) &^ 0x01
	return b
}

func (m *Manager) netnsDir() string { return filepath.Join(m.RunDir, "netns") }
