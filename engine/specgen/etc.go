package specgen

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

// HostsFile is a container's /etc/hosts as Docker writes it: localhost,
// the container's own address (when it has one yet) and extra lines
// ("ip\tname", see ExtraHosts).
func HostsFile(hostname, ip string, extra []string) []byte {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	if ip != "" {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	for _, line := range extra {
		b.WriteString(line + "\n")
	}
	return []byte(b.String())
}

// ResolvConf is a service's /etc/resolv.conf: the embedded DNS server alone
// when there is one (nameserver is its gateway address), at 127.0.0.11 as
// with Docker (like Docker, it forwards other names to the service's dns
// servers), else the dns servers themselves; dns_search instead of the
// search domains of host (the host's resolv.conf), and dns_opt after ndots:0.
func ResolvConf(svc types.ServiceConfig, nameserver string, host []byte) ([]byte, error) {
	var b strings.Builder
	if nameserver != "" {
		fmt.Fprintf(&b, "nameserver %s\n", networks.EmbeddedDNS)
	}
	for _, s := range svc.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return nil, fmt.Errorf("service %q: dns %q: %w", svc.Name, s, errdefs.ErrInvalidArgument)
		}
		if nameserver == "" {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
	}
	if len(svc.DNSSearch) > 0 {
		if !(len(svc.DNSSearch) == 1 && svc.DNSSearch[0] == ".") {
			fmt.Fprintf(&b, "search %s\n", strings.Join(svc.DNSSearch, " "))
		}
	} else {
		for _, line := range strings.Split(string(host), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "search" {
				b.WriteString(line + "\n")
			}
		}
	}
	opts := append([]string{"ndots:0"}, svc.DNSOpts...)
	fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	return []byte(b.String()), nil
}
