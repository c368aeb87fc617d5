package networks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nftTableName is the per-network table in family ip.
func nftTableName(bridge string) string { return "compose-" + bridge }

// dockerUserComment tags the rules we add to Docker's DOCKER-USER chain so
// Remove deletes exactly those.
func dockerUserComment(bridge string) string { return "compose:" + bridge }

func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// ipMatch loads the IPv4 source (offset 12) or destination (offset 16) and
// compares it with prefix.
func ipMatch(offset uint32, p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

func ifMatch(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

func dnsMatch(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(53)},
	}
}

func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var accept = []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}

// ensureNFT (re)writes the network's tables, ip and (for an IPv6 network)
// ip6, each in one atomic batch: masquerade of the subnet leaving through
// another interface, forward accept in and out of the bridge (but no
// forwarding to other bridges), DNS to the gateway from the subnet
// through the bridge (and to 127.0.0.11, DNATed there) or from the host,
// never from elsewhere; plus accepts in Docker's DOCKER-USER (or a
// drop-policy FORWARD) chain.
func ensureNFT(n *Network) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	others, err := renamedBridges(c) // listed before the batch starts
	if err != nil {
		return err
	}
	if err := ensureFamily(c, n, nftables.TableFamilyIPv4, n.Subnet, n.Gateway, others); err != nil {
		return err
	}
	if n.IPv6() {
		if err := ensureFamily(c, n, nftables.TableFamilyIPv6, n.Subnet6, n.Gateway6, others); err != nil {
			return err
		}
	} else if err := deleteTable(c, nftables.TableFamilyIPv6, nftTableName(n.Bridge)); err != nil {
		return err
	}
	return nil
}

// addrMatch compares the packet's source (src) or destination address with
// prefix, in the layout of the prefix's family.
func addrMatch(src bool, p netip.Prefix) []expr.Any {
	if p.Addr().Is4() {
		if src {
			return ipMatch(12, p)
		}
		return ipMatch(16, p)
	}
	off := uint32(24)
	if src {
		off = 8
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 16},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: net.CIDRMask(p.Bits(), 128), Xor: make([]byte, 16)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

func ensureFamily(c *nftables.Conn, n *Network, family nftables.TableFamily, subnetS, gwS string, others []string) error {
	subnet, err := netip.ParsePrefix(subnetS)
	if err != nil {
		return fmt.Errorf("network %q subnet: %w", n.Name, err)
	}
	gw, err := netip.ParseAddr(gwS)
	if err != nil {
		return fmt.Errorf("network %q gateway: %w", n.Name, err)
	}
	t := &nftables.Table{Name: nftTableName(n.Bridge), Family: family}
	// add+delete+add replaces an existing table atomically.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	acceptPolicy := nftables.ChainPolicyAccept
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &acceptPolicy})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &acceptPolicy})
	in := c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &acceptPolicy})

	drop := []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	if n.Internal {
		// internal: nothing is routed into or out of the bridge; the
		// containers still reach each other and the DNS on the gateway.
		c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(
			ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge), drop)})
		c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(
			ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge), ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpNeq, n.Bridge), drop)})
	} else {
		if !n.NoMasquerade {
			c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: join(
				addrMatch(true, subnet), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge), []expr.Any{&expr.Masq{}})})
		}
		// Published ports: DNATed traffic may cross bridges (a container
		// reaching another network's container through the host address).
		c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(dnatted(), accept)})
	}
	// Isolation like Docker's: nothing is forwarded from this bridge to
	// another bridge ("br-*"); containers on two networks talk directly.
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(
		ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge),
		ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge),
		[]expr.Any{&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("br-")}},
		[]expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}})})
	if !strings.HasPrefix(n.Bridge, "br-") {
		// A renamed bridge escapes the other tables' "br-" match: this
		// table drops both directions, against "br-*" and against every
		// renamed bridge of ours that exists now (later ones drop against
		// this one in their own tables).
		drops := [][]expr.Any{join(
			[]expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("br-")}},
			ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge))}
		for _, o := range others {
			if o == n.Bridge {
				continue
			}
			drops = append(drops,
				join(ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpEq, o)),
				join(ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, o), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge)))
		}
		for _, d := range drops {
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(d, drop)})
		}
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge), accept)})
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: join(ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge), accept)})
	// DNS to the gateway: from the network's own containers (through its
	// bridge, from its subnet) and from the host itself; a container of
	// another network (of any state root) sending there is dropped.
	gwPrefix := netip.PrefixFrom(gw, gw.BitLen())
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: join(
			ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge), addrMatch(true, subnet), addrMatch(false, gwPrefix), dnsMatch(proto), accept)})
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: join(
			ifMatch(expr.MetaKeyIIFNAME, expr.CmpOpEq, "lo"), addrMatch(false, gwPrefix), dnsMatch(proto), accept)})
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: join(
			addrMatch(false, gwPrefix), dnsMatch(proto), drop)})
	}
	if family == nftables.TableFamilyIPv4 {
		addEmbeddedDNS(c, t, n.Bridge, gw) // 127.0.0.11 (dnsnat.go)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", t.Name, err)
	}
	return ensureDockerUser(c, family, n.Bridge)
}

// deleteTable removes a table if it exists.
func deleteTable(c *nftables.Conn, family nftables.TableFamily, name string) error {
	if _, err := c.ListTableOfFamily(name, family); err != nil {
		return nil
	}
	c.DelTable(&nftables.Table{Name: name, Family: family})
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables delete table %s: %w", name, err)
	}
	return nil
}

// renamedBridges lists the bridges of every compose network on the host
// (any state root) whose name is not "br-*", from our tables' names.
func renamedBridges(c *nftables.Conn) ([]string, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("nftables list tables: %w", err)
	}
	var out []string
	for _, t := range tables {
		b, ok := strings.CutPrefix(t.Name, nftTableName(""))
		if ok && !strings.HasPrefix(t.Name, portsTablePrefix) && !strings.HasPrefix(b, "br-") && b != "" {
			out = append(out, b)
		}
	}
	return out, nil
}

// dockerUserChain returns iptables-nft's DOCKER-USER chain, or nil.
func dockerUserChain(c *nftables.Conn) (*nftables.Chain, error) {
	return dockerUserChainOf(c, nftables.TableFamilyIPv4)
}

func dockerUserChainOf(c *nftables.Conn, family nftables.TableFamily) (*nftables.Chain, error) {
	chains, err := c.ListChainsOfTableFamily(family)
	if err != nil {
		return nil, fmt.Errorf("nftables list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table != nil && ch.Table.Name == "filter" && ch.Name == "DOCKER-USER" {
			return ch, nil
		}
	}
	return nil, nil
}

// forwardAcceptChain is where our forward accepts must go so that another
// firewall's drop does not win: Docker's DOCKER-USER chain, else an ip
// filter FORWARD base chain whose policy is drop (a firewall without
// Docker). nil when neither exists.
func forwardAcceptChain(c *nftables.Conn) (*nftables.Chain, error) {
	return forwardAcceptChainOf(c, nftables.TableFamilyIPv4)
}

func forwardAcceptChainOf(c *nftables.Conn, family nftables.TableFamily) (*nftables.Chain, error) {
	ch, err := dockerUserChainOf(c, family)
	if err != nil || ch != nil {
		return ch, err
	}
	chains, err := c.ListChainsOfTableFamily(family)
	if err != nil {
		return nil, fmt.Errorf("nftables list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table != nil && ch.Table.Name == "filter" && ch.Name == "FORWARD" &&
			ch.Hooknum != nil && *ch.Hooknum == *nftables.ChainHookForward &&
			ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop {
			return ch, nil
		}
	}
	return nil, nil
}

// ensureDockerUser puts "-i br -j ACCEPT" and "-o br -j ACCEPT" at the top of
// DOCKER-USER: Docker's FORWARD policy is DROP and a drop in any base chain
// wins over our own accept.
func ensureDockerUser(c *nftables.Conn, family nftables.TableFamily, bridge string) error {
	// Another firewall's chain is not ours: it may go (Docker stopped, a
	// firewall reloaded) between our look and our write, which then fails
	// with ENOENT. Look again: gone means nothing to accept in.
	var err error
	for range 3 {
		var ch *nftables.Chain
		if ch, err = forwardAcceptChainOf(c, family); err != nil || ch == nil {
			return err
		}
		if err = deleteDockerUserRules(c, ch, bridge); err != nil {
			return err
		}
		ud := userdata.AppendString(nil, userdata.TypeComment, dockerUserComment(bridge))
		for _, key := range []expr.MetaKey{expr.MetaKeyOIFNAME, expr.MetaKeyIIFNAME} {
			c.InsertRule(&nftables.Rule{Table: ch.Table, Chain: ch, UserData: ud,
				Exprs: join(ifMatch(key, expr.CmpOpEq, bridge), accept)})
		}
		if err = c.Flush(); !errors.Is(err, unix.ENOENT) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("nftables DOCKER-USER: %w", err)
	}
	return nil
}

func deleteDockerUserRules(c *nftables.Conn, ch *nftables.Chain, bridge string) error {
	rules, err := c.GetRules(ch.Table, ch)
	if errors.Is(err, unix.ENOENT) {
		return nil // the chain went away meanwhile (Docker stopped)
	}
	if err != nil {
		return fmt.Errorf("nftables DOCKER-USER rules: %w", err)
	}
	n := 0
	for _, r := range rules {
		if commentOf(r.UserData) == dockerUserComment(bridge) {
			if err := c.DelRule(r); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) { // gone with the chain
		return fmt.Errorf("nftables DOCKER-USER: %w", err)
	}
	return nil
}

// removeNFT deletes the network's tables (ip and ip6) and its accepts in
// other firewalls' chains; missing ones are fine.
func removeNFT(bridge string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		if err := deleteTable(c, family, nftTableName(bridge)); err != nil {
			return err
		}
		ch, err := forwardAcceptChainOf(c, family)
		if err != nil {
			return err
		}
		if ch != nil {
			if err := deleteDockerUserRules(c, ch, bridge); err != nil {
				return err
			}
		}
	}
	return nil
}

// nftTableExists reports whether the network's table is present (for tests
// and repair).
func nftTableExists(bridge string) (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, err
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		if t.Name == nftTableName(bridge) {
			return true, nil
		}
	}
	return false, nil
}

// commentOf extracts the comment TLV from rule userdata; it checks bounds
// itself because other tools' rules share the chain.
func commentOf(ud []byte) string {
	for len(ud) >= 2 {
		typ, l := userdata.Type(ud[0]), int(ud[1])
		if len(ud) < 2+l {
			return ""
		}
		if typ == userdata.TypeComment {
			return strings.TrimSuffix(string(ud[2:2+l]), "\x00")
		}
		ud = ud[2+l:]
	}
	return ""
}

// dropOrphanTables deletes the network tables (ip and ip6) whose bridge no
// longer exists on the host: what a network left when it lost its bridge
// without its rules. A network that is only being repaired gets its tables
// made again with its bridge.
func dropOrphanTables() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTables()
	if err != nil {
		return fmt.Errorf("nftables list tables: %w", err)
	}
	n := 0
	for _, t := range tables {
		bridge, ok := strings.CutPrefix(t.Name, nftTableName(""))
		if !ok || strings.HasPrefix(t.Name, portsTablePrefix) || bridge == "" {
			continue
		}
		var notFound netlink.LinkNotFoundError
		if _, err := netlink.LinkByName(bridge); !errors.As(err, &notFound) {
			continue
		}
		c.DelTable(t)
		n++
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) { // gone meanwhile
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}
