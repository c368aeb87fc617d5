package networks

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// dnsTTL matches Docker's embedded DNS (600s).
const dnsTTL = 600

// recordSet is an immutable snapshot of one network's names, swapped
// atomically on reload so queries in flight keep the snapshot they started with.
type recordSet struct {
	network string
	subnet  netip.Prefix
	subnet6 netip.Prefix                 // invalid on IPv4-only networks
	names   map[string][]netip.Addr      // lower-case name -> IPv4 and IPv6 addresses, in endpoint order
	ptr     map[netip.Addr]string        // address -> container name
	byIP    map[netip.Addr]string        // address -> container id (who is asking)
	links   map[string]map[string]string // container id -> link alias -> target name
	dns     map[string][]string          // container id -> its own upstreams (host:port)
}

// has reports whether the container id has an endpoint on this network.
func (rs *recordSet) has(id string) bool {
	_, ok := rs.links[id]
	return ok
}

// buildRecords indexes a network's endpoints by alias (service name etc.),
// container name and short container ID.
func buildRecords(n *Network) *recordSet {
	rs := &recordSet{names: map[string][]netip.Addr{}, ptr: map[netip.Addr]string{},
		byIP: map[netip.Addr]string{}, links: map[string]map[string]string{}, dns: map[string][]string{}}
	if n == nil {
		return rs
	}
	rs.network = n.Name
	rs.subnet, _ = netip.ParsePrefix(n.Subnet)
	rs.subnet6, _ = netip.ParsePrefix(n.Subnet6)
	for _, e := range n.Endpoints {
		ip, err := netip.ParseAddr(e.IP)
		if err != nil {
			continue
		}
		names := append([]string{strings.TrimPrefix(e.ContainerName, "/")}, e.Aliases...)
		if len(e.ContainerID) >= 12 {
			names = append(names, e.ContainerID[:12])
		}
		if n.DefaultBridge { // like Docker's default bridge: no names, only forwarding
			names = nil
		}
		ip6, err := netip.ParseAddr(e.IP6)
		for _, name := range names {
			rs.add(name, ip)
			if err == nil {
				rs.add(name, ip6)
			}
		}
		if err == nil {
			rs.byIP[ip6] = e.ContainerID
			if e.ContainerName != "" {
				rs.ptr[ip6] = strings.TrimPrefix(e.ContainerName, "/")
			}
		}
		if e.ContainerName != "" {
			rs.ptr[ip] = strings.TrimPrefix(e.ContainerName, "/")
		}
		rs.byIP[ip] = e.ContainerID
		links := map[string]string{}
		for alias, target := range e.Links {
			links[strings.ToLower(alias)] = strings.ToLower(target)
		}
		rs.links[e.ContainerID] = links
		for _, s := range e.DNS {
			if a, err := netip.ParseAddr(s); err == nil {
				rs.dns[e.ContainerID] = append(rs.dns[e.ContainerID], net.JoinHostPort(a.String(), "53"))
			}
		}
	}
	return rs
}

func (rs *recordSet) add(name string, ip netip.Addr) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return
	}
	for _, have := range rs.names[name] {
		if have == ip {
			return
		}
	}
	rs.names[name] = append(rs.names[name], ip)
}

// rotate returns ips shifted left by k, the round-robin order of one answer.
func rotate(ips []netip.Addr, k uint32) []netip.Addr {
	if len(ips) < 2 {
		return ips
	}
	s := int(k % uint32(len(ips)))
	out := make([]netip.Addr, 0, len(ips))
	out = append(out, ips[s:]...)
	return append(out, ips[:s]...)
}

// resolve answers req from rs. It returns nil when the question is not ours
// and must be forwarded upstream. k rotates multi-address answers.
func resolve(req *dns.Msg, rs *recordSet, k uint32) *dns.Msg {
	return resolveAs(req, rs, k, "")
}

// resolveAs is resolve looking up as (a link's target) instead of the
// question's name, when as is not empty; the answer keeps the asked name.
func resolveAs(req *dns.Msg, rs *recordSet, k uint32, as string) *dns.Msg {
	resp := new(dns.Msg)
	if len(req.Question) != 1 {
		resp.SetRcode(req, dns.RcodeFormatError)
		return resp
	}
	q := req.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	if as != "" {
		name = as
	}
	resp.SetReply(req)
	resp.RecursionAvailable = true

	if ips, ok := rs.names[name]; ok {
		resp.Authoritative = true
		if q.Qclass == dns.ClassINET && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA) {
			for _, ip := range rotate(ofFamily(ips, q.Qtype == dns.TypeA), k) {
				hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: dnsTTL}
				if ip.Is4() {
					resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr, A: ip.AsSlice()})
				} else {
					resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr, AAAA: ip.AsSlice()})
				}
			}
		}
		return resp // other types: NOERROR without data, as Docker does
	}
	if q.Qtype == dns.TypePTR {
		if ip, ok := arpaToAddr(name); ok && (rs.subnet.IsValid() && rs.subnet.Contains(ip) || rs.subnet6.IsValid() && rs.subnet6.Contains(ip)) {
			if cname, ok := rs.ptr[ip]; ok {
				resp.Authoritative = true
				resp.Answer = append(resp.Answer, &dns.PTR{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: dnsTTL},
					Ptr: dns.Fqdn(cname + "." + rs.network),
				})
				return resp
			}
			resp.Rcode = dns.RcodeNameError
			return resp
		}
	}
	// An unknown single label is a container name that does not exist:
	// answer NXDOMAIN at once instead of leaking it upstream.
	if name != "" && !strings.Contains(name, ".") {
		resp.Rcode = dns.RcodeNameError
		return resp
	}
	return nil
}

// ofFamily keeps the IPv4 (v4) or IPv6 addresses of ips.
func ofFamily(ips []netip.Addr, v4 bool) []netip.Addr {
	n := 0
	for _, ip := range ips {
		if ip.Is4() == v4 {
			n++
		}
	}
	if n == len(ips) {
		return ips // the common case: no copy
	}
	out := make([]netip.Addr, 0, n)
	for _, ip := range ips {
		if ip.Is4() == v4 {
			out = append(out, ip)
		}
	}
	return out
}

// arpaToAddr parses "d.c.b.a.in-addr.arpa" into a.b.c.d, and the 32
// reversed nibbles of an ip6.arpa name into the IPv6 address.
func arpaToAddr(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return netip.Addr{}, false
		}
		var a [16]byte
		for i, s := range nibbles {
			if len(s) != 1 {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(s, 16, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			pos := 31 - i // nibble index from the most significant
			a[pos/2] |= byte(v) << (4 * (1 - pos%2))
		}
		return netip.AddrFrom16(a), true
	}
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	for i, j := 0, 3; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	a, err := netip.ParseAddr(strings.Join(parts, "."))
	return a, err == nil && a.Is4()
}
