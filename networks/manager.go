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
		if err := m.repairBridge(ctx, n); err != nil {
			return nil, err
		}
		if err := ensureNFT(n); err != nil {
			return nil, err
		}
		if !claimed(n) { // made before claims were, or lost with /run (a reboot)
			if err := m.claim(n); err != nil {
				return nil, err
			}
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
	// Claimed once on record (a claim without a record is stale); until
	// then the bridge itself keeps the subnet taken.
	if err := m.claim(n); err != nil {
		return nil, err
	}
	return n, nil
}

// usedSubnet is a subnet IPAM must not hand out, and who has it.
type usedSubnet struct {
	prefix netip.Prefix
	by     string // "" for the host's own addresses and routes
}

// usedSubnets lists what is taken on the host, IPv4 or (v6) IPv6: the
// host's addresses and routes, this state root's records and every live
// claim of a network of any state root, except the network skip (by ID).
// Call it under the IPAM lock.
func (m *Manager) usedSubnets(v6 bool, skip string) ([]usedSubnet, error) {
	var host []netip.Prefix
	var err error
	if v6 {
		host, err = hostSubnets6()
	} else {
		host, err = hostSubnets()
	}
	if err != nil {
		return nil, err
	}
	var used []usedSubnet
	for _, p := range host {
		used = append(used, usedSubnet{prefix: p})
	}
	add := func(subnet, subnet6, id, by string) {
		if id == skip {
			return
		}
		if v6 {
			subnet = subnet6
		}
		if p, err := netip.ParsePrefix(subnet); err == nil {
			used = append(used, usedSubnet{prefix: p.Masked(), by: by})
		}
	}
	// Our own records count too: their bridges may be gone after a reboot.
	recs, err := listRecords(m.StateDir)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		add(r.Subnet, r.Subnet6, r.ID, fmt.Sprintf("network %q", r.Name))
	}
	claims, err := liveClaims(claimsDir())
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		add(c.Subnet, c.Subnet6, c.ID, fmt.Sprintf("network %q of %s", c.Network, filepath.Dir(c.StateDir)))
	}
	return used, nil
}

// overlapping returns the first of used that overlaps p.
func overlapping(p netip.Prefix, used []usedSubnet) (usedSubnet, bool) {
	for _, u := range used {
		if p.Overlaps(u.prefix) {
			return u, true
		}
	}
	return usedSubnet{}, false
}

func (u usedSubnet) String() string {
	if u.by == "" {
		return u.prefix.String()
	}
	return u.prefix.String() + " (" + u.by + ")"
}

func prefixesOf(used []usedSubnet) []netip.Prefix {
	out := make([]netip.Prefix, len(used))
	for i, u := range used {
		out[i] = u.prefix
	}
	return out
}

// repairBridge makes the bridge of an existing network again when it is
// gone (after a reboot or a crash), unless its subnet has been taken on
// the host meanwhile: that is a conflict, never a second bridge with the
// same subnet.
func (m *Manager) repairBridge(ctx context.Context, n *Network) error {
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		return ensureBridge(n)
	}
	l, err := store.Lock(ctx, ipamLockPath)
	if err != nil {
		return err
	}
	defer l.Unlock()
	for _, v6 := range []bool{false, true} {
		subnet := n.Subnet
		if v6 {
			if !n.IPv6() {
				continue
			}
			subnet = n.Subnet6
		}
		p, err := netip.ParsePrefix(subnet)
		if err != nil {
			return fmt.Errorf("network %q subnet: %w", n.Name, err)
		}
		used, err := m.usedSubnets(v6, n.ID)
		if err != nil {
			return err
		}
		if u, ok := overlapping(p.Masked(), used); ok {
			return fmt.Errorf("network %q: its bridge %s is gone and its subnet %s is now in use on this host by %s; remove the network and create it again: %w",
				n.Name, n.Bridge, subnet, u, errdefs.ErrConflict)
		}
	}
	return ensureBridge(n)
}

// allocateBridge picks a free subnet and creates the bridge under the
// host-wide IPAM lock.
func (m *Manager) allocateBridge(ctx context.Context, n *Network, opts Options) error {
	l, err := store.Lock(ctx, ipamLockPath)
	if err != nil {
		return err
	}
	defer l.Unlock()
	// A subnet that is free again may be one a network lost (its bridge
	// gone without its tables, a crash): its old rules (a masquerade of
	// the subnet...) must not apply to the network given it now.
	if err := dropOrphanTables(); err != nil {
		return err
	}
	used, err := m.usedSubnets(false, "")
	if err != nil {
		return err
	}
	if opts.BridgeName != "" {
		if _, err := netlink.LinkByName(opts.BridgeName); err == nil {
			return fmt.Errorf("network %q: bridge %s already exists: %w", n.Name, opts.BridgeName, errdefs.ErrConflict)
		}
	}
	var subnet netip.Prefix
	if opts.Subnet != "" {
		subnet = netip.MustParsePrefix(opts.Subnet).Masked() // checked by validateOptions
		if u, ok := overlapping(subnet, used); ok {
			return fmt.Errorf("network %q: subnet %s overlaps %s, already in use on this host: %w", n.Name, subnet, u, errdefs.ErrConflict)
		}
	} else if subnet, err = pickSubnet(defaultPool(), prefixesOf(used)); err != nil {
		return err
	}
	n.Subnet = subnet.String()
	n.Gateway = gatewayOf(subnet).String()
	if opts.Gateway != "" {
		n.Gateway = opts.Gateway
	}
	if opts.EnableIPv6 {
		used6, err := m.usedSubnets(true, "")
		if err != nil {
			return err
		}
		subnet6, err := pickSubnet6(n.Name, opts.Subnet6, prefixesOf(used6))
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
	return unclaim(n)
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
