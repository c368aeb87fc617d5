package build

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/composer-dev/compose/engine/runspec"
)

// resolvConf is where a RUN's DNS configuration comes from: the host's,
// since RUN shares the host's network.
var resolvConf = "/etc/resolv.conf"

// etcMounts gives a RUN container its /etc/hosts (localhost and the build's
// extra_hosts) and the host's /etc/resolv.conf, read-only, as Docker's
// build containers have them; the mount points are not kept in the layer.
func (r *run) etcMounts(dir string) ([]runspec.Mount, error) {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	hosts := make([]string, 0, len(r.opts.ExtraHosts))
	for h := range r.opts.ExtraHosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		for _, ip := range r.opts.ExtraHosts[h] {
			if ip == "host-gateway" { // RUN shares the host's network: the host is right here
				ip = "127.0.0.1"
			}
			fmt.Fprintf(&b, "%s\t%s\n", ip, h)
		}
	}
	p := filepath.Join(dir, "hosts")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	mounts := []runspec.Mount{{Source: p, Destination: "/etc/hosts", ReadOnly: true}}
	if fi, err := os.Stat(resolvConf); err == nil && fi.Mode().IsRegular() {
		data, err := os.ReadFile(resolvConf)
		if err != nil {
			return nil, err
		}
		rp := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(rp, data, 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, runspec.Mount{Source: rp, Destination: "/etc/resolv.conf", ReadOnly: true})
	}
	return mounts, nil
}
