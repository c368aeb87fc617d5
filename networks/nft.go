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

// ensureNFT (re)writes the network's table in one atomic batch: masquerade
// of the subnet leaving through another interface, forward accept in and out
// of the bridge (but no forwarding to other bridges), DNS from the subnet to
// the gateway; plus DOCKER-USER accepts when Docker's chain exists.
func ensureNFT(n *Network) error {
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return fmt.Errorf("network %q subnet: %w", n.Name, err)
	}
	gw, err := netip.ParseAddr(n.Gateway)
	if err != nil {
		return fmt.Errorf("network %q gateway: %w", n.Name, err)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	others, err := renamedBridges(c) // listed before the batch starts
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: nftTableName(n.Bridge), Family: nftables.TableFamilyIPv4}
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
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: join(
			ipMatch(12, subnet), ifMatch(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge), []expr.Any{&expr.Masq{}})})
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
	gwPrefix := netip.PrefixFrom(gw, 32)
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: join(
			ipMatch(12, subnet), ipMatch(16, gwPrefix), dnsMatch(proto), accept)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", t.Name, err)
	}
	return ensureDockerUser(c, n.Bridge)
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
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
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
	ch, err := dockerUserChain(c)
	if err != nil || ch != nil {
		return ch, err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
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
func ensureDockerUser(c *nftables.Conn, bridge string) error {
	ch, err := forwardAcceptChain(c)
	if err != nil || ch == nil {
		return err
	}
	if err := deleteDockerUserRules(c, ch, bridge); err != nil {
		return err
	}
	ud := userdata.AppendString(nil, userdata.TypeComment, dockerUserComment(bridge))
	for _, key := range []expr.MetaKey{expr.MetaKeyOIFNAME, expr.MetaKeyIIFNAME} {
		c.InsertRule(&nftables.Rule{Table: ch.Table, Chain: ch, UserData: ud,
			Exprs: join(ifMatch(key, expr.CmpOpEq, bridge), accept)})
	}
	if err := c.Flush(); err != nil {
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
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables DOCKER-USER: %w", err)
	}
	return nil
}

// removeNFT deletes the network's table and its DOCKER-USER rules; missing
// ones are fine.
func removeNFT(bridge string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	name := nftTableName(bridge)
	if _, err := c.ListTableOfFamily(name, nftables.TableFamilyIPv4); err == nil {
		c.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyIPv4})
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("nftables delete table %s: %w", name, err)
		}
	}
	ch, err := forwardAcceptChain(c)
	if err != nil || ch == nil {
		return err
	}
	return deleteDockerUserRules(c, ch, bridge)
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
