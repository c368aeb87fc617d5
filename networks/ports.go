package networks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// PortMapping is one published port of a container: traffic to
// HostIP:HostPort on the host is DNATed to the container's ContainerPort.
type PortMapping struct {
	HostIP        string `json:"host_ip,omitempty"` // "" = every host address (0.0.0.0)
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	Protocol      string `json:"protocol"` // "tcp" or "udp"
}

// Key identifies the host side of the mapping ("0.0.0.0:8080/tcp").
func (p PortMapping) Key() string {
	return net.JoinHostPort(p.hostIP(), strconv.Itoa(int(p.HostPort))) + "/" + p.Protocol
}

func (p PortMapping) hostIP() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

// Overlap reports whether two host sides can not both be published: same
// port and protocol, and one of the addresses covers the other.
func Overlap(p, q PortMapping) bool { return p.overlaps(q) }

func (p PortMapping) overlaps(q PortMapping) bool {
	if p.HostPort != q.HostPort || p.Protocol != q.Protocol {
		return false
	}
	a, b := p.hostIP(), q.hostIP()
	return a == b || a == "0.0.0.0" || b == "0.0.0.0"
}

// portsTablePrefix names the per-container tables; the id part lets the
// engine tell its own containers' bindings from others'.
const portsTablePrefix = "compose-ports-"

func portsTableName(id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return portsTablePrefix + id
}

// ValidatePort checks a mapping's fields (protocol, address); the error
// class is ErrInvalidArgument.
func ValidatePort(p PortMapping) error {
	if p.Protocol != "tcp" && p.Protocol != "udp" {
		return fmt.Errorf("port %d: protocol %q is not supported (tcp, udp): %w", p.ContainerPort, p.Protocol, errdefs.ErrInvalidArgument)
	}
	if p.ContainerPort == 0 {
		return fmt.Errorf("port mapping %s: container port 0: %w", p.Key(), errdefs.ErrInvalidArgument)
	}
	if p.HostIP != "" {
		a, err := netip.ParseAddr(p.HostIP)
		if err != nil || !a.Is4() {
			return fmt.Errorf("port %d: host ip %q is not an IPv4 address: %w", p.ContainerPort, p.HostIP, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// PublishedPorts lists the host side of every port published on this host
// (by any state root), from the kernel's nftables: key is the mapping, value
// the 12-char container id prefix that owns it.
func PublishedPorts() (map[PortMapping]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("nftables list tables: %w", err)
	}
	out := map[PortMapping]string{}
	for _, t := range tables {
		id, ok := strings.CutPrefix(t.Name, portsTablePrefix)
		if !ok {
			continue
		}
		rules, err := c.GetRules(t, &nftables.Chain{Name: "prerouting", Table: t})
		if err != nil {
			continue // removed meanwhile
		}
		for _, r := range rules {
			if p, ok := parsePortComment(commentOf(r.UserData)); ok {
				out[p] = id
			}
		}
	}
	return out, nil
}

// CheckPortFree fails with ErrConflict when the host side of p is taken:
// by another container's published port (except those whose id prefix is
// in mine) or by a socket bound on the host. One of mine holds its socket
// until it is replaced, so no bind is tried then.
func CheckPortFree(p PortMapping, published map[PortMapping]string, mine map[string]bool) error {
	ours := false
	for q, id := range published {
		if !p.overlaps(q) {
			continue
		}
		if !mine[id] {
			return fmt.Errorf("bind for %s failed: port is already allocated: %w", p.Key(), errdefs.ErrConflict)
		}
		ours = true
	}
	if ours {
		return nil
	}
	if err := bindTest(p); err != nil {
		return fmt.Errorf("bind for %s failed: %v: %w", p.Key(), errors.Unwrap(err), errdefs.ErrConflict)
	}
	return nil
}

// bindTest binds the host side once and closes it: a listener of another
// program on the port would never see traffic that we DNAT away.
func bindTest(p PortMapping) error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort)))
	if p.Protocol == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// FreePort picks a host port for an ephemeral mapping: one the kernel hands
// out as free that no published mapping uses either.
func FreePort(p PortMapping, published map[PortMapping]string) (uint16, error) {
	for range 50 {
		q := p
		q.HostPort = 0
		addr := net.JoinHostPort(q.HostIP, "0")
		var port int
		if p.Protocol == "udp" {
			c, err := net.ListenPacket("udp4", addr)
			if err != nil {
				return 0, fmt.Errorf("ephemeral port for %d/%s: %w", p.ContainerPort, p.Protocol, err)
			}
			port = c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
		} else {
			l, err := net.Listen("tcp4", addr)
			if err != nil {
				return 0, fmt.Errorf("ephemeral port for %d/%s: %w", p.ContainerPort, p.Protocol, err)
			}
			port = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		q.HostPort = uint16(port)
		taken := false
		for r := range published {
			taken = taken || q.overlaps(r)
		}
		if !taken {
			return q.HostPort, nil
		}
	}
	return 0, fmt.Errorf("no free host port for %d/%s: %w", p.ContainerPort, p.Protocol, errdefs.ErrFailedPrecondition)
}

func portComment(p PortMapping) string { return "compose-port:" + p.Key() }

func parsePortComment(s string) (PortMapping, bool) {
	key, ok := strings.CutPrefix(s, "compose-port:")
	if !ok {
		return PortMapping{}, false
	}
	hp, proto, ok := strings.Cut(key, "/")
	if !ok {
		return PortMapping{}, false
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return PortMapping{}, false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return PortMapping{}, false
	}
	if host == "0.0.0.0" {
		host = ""
	}
	return PortMapping{HostIP: host, HostPort: uint16(n), Protocol: proto}, true
}

// Publish (re)writes the container's port table in one atomic batch:
// DNAT in prerouting (other hosts, other containers via the host address)
// and in output (the host itself, 127.0.0.1 included), and masquerade of
// DNATed traffic that comes from loopback or from the target's own subnet
// (hairpin), whose replies would otherwise not pass back through the NAT.
// A host port published by another container is ErrConflict.
func Publish(id string, target netip.Addr, subnet netip.Prefix, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	published, err := PublishedPorts()
	if err != nil {
		return err
	}
	mine := map[string]bool{strings.TrimPrefix(portsTableName(id), portsTablePrefix): true}
	for _, p := range ports {
		if err := ValidatePort(p); err != nil {
			return err
		}
		for q, owner := range published {
			if !mine[owner] && p.overlaps(q) {
				return fmt.Errorf("bind for %s failed: port is already allocated: %w", p.Key(), errdefs.ErrConflict)
			}
		}
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Name: portsTableName(id), Family: nftables.TableFamilyIPv4}
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	for _, p := range ports {
		proto := byte(unix.IPPROTO_TCP)
		if p.Protocol == "udp" {
			proto = unix.IPPROTO_UDP
		}
		match := join(hostMatch(p), portMatch(proto, p.HostPort))
		dnat := []expr.Any{
			&expr.Immediate{Register: 1, Data: target.AsSlice()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		}
		ud := userdata.AppendString(nil, userdata.TypeComment, portComment(p))
		c.AddRule(&nftables.Rule{Table: t, Chain: pre, UserData: ud, Exprs: join(match, dnat)})
		c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: join(match, dnat)})
		toTarget := join(ipMatch(16, netip.PrefixFrom(target, 32)), portMatch(proto, p.ContainerPort), dnatted())
		for _, src := range []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), subnet} {
			c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: join(toTarget, ipMatch(12, src), []expr.Any{&expr.Masq{}})})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", t.Name, err)
	}
	return nil
}

// Unpublish deletes the container's port table; a missing one is fine.
func Unpublish(id string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	name := portsTableName(id)
	if _, err := c.ListTableOfFamily(name, nftables.TableFamilyIPv4); err != nil {
		return nil
	}
	c.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables delete table %s: %w", name, err)
	}
	return nil
}

// hostMatch matches the published address: a given host ip, or any local
// address of the host (fib daddr type local) for 0.0.0.0.
func hostMatch(p PortMapping) []expr.Any {
	if p.HostIP != "" && p.HostIP != "0.0.0.0" {
		return ipMatch(16, netip.PrefixFrom(netip.MustParseAddr(p.HostIP), 32))
	}
	local := make([]byte, 4)
	binary.NativeEndian.PutUint32(local, unix.RTN_LOCAL)
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: local},
	}
}

func portMatch(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// dnatted matches connections whose destination we (or anyone) translated:
// ct status & dnat != 0.
func dnatted() []expr.Any {
	bit := make([]byte, 4)
	binary.NativeEndian.PutUint32(bit, 0x20) // IPS_DST_NAT
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATUS, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: bit, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}
