package specgen

import (
	"errors"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

const localhostLines = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"

func TestHostsFile(t *testing.T) {
	if got := string(HostsFile("box", "", nil)); got != localhostLines {
		t.Errorf("without an address:\n%s", got)
	}
	got := string(HostsFile("box", "172.18.0.2", []string{"fd00::2\tbox", "10.0.0.1\tdb"}))
	if want := localhostLines + "172.18.0.2\tbox\nfd00::2\tbox\n10.0.0.1\tdb\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestResolvConf(t *testing.T) {
	host := []byte("# host\nnameserver 192.168.1.1\nsearch corp.example lan\noptions edns0\n")
	tests := []struct {
		name       string
		dns        []string
		search     []string
		opts       []string
		nameserver string
		want       string
	}{
		{"embedded server", nil, nil, nil, "172.18.0.1", "nameserver 127.0.0.11\nsearch corp.example lan\noptions ndots:0\n"},
		{"dns forwarded by the embedded server", []string{"9.9.9.9"}, nil, nil, "172.18.0.1", "nameserver 127.0.0.11\nsearch corp.example lan\noptions ndots:0\n"},
		{"no network: dns servers", []string{"9.9.9.9", "fd00::53"}, nil, nil, "", "nameserver 9.9.9.9\nnameserver fd00::53\nsearch corp.example lan\noptions ndots:0\n"},
		{"dns_search replaces the host's", nil, []string{"a.example", "b.example"}, nil, "172.18.0.1", "nameserver 127.0.0.11\nsearch a.example b.example\noptions ndots:0\n"},
		{"dns_search . drops them", nil, []string{"."}, nil, "172.18.0.1", "nameserver 127.0.0.11\noptions ndots:0\n"},
		{"dns_opt after ndots", nil, nil, []string{"timeout:2", "rotate"}, "172.18.0.1", "nameserver 127.0.0.11\nsearch corp.example lan\noptions ndots:0 timeout:2 rotate\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := svcWith(types.ContainerSpec{DNS: tt.dns, DNSSearch: tt.search, DNSOpts: tt.opts})
			got, err := ResolvConf(svc, tt.nameserver, host)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got\n%s(%v)\nwant\n%s", got, err, tt.want)
			}
		})
	}
	if got, _ := ResolvConf(svcWith(types.ContainerSpec{}), "", nil); string(got) != "options ndots:0\n" {
		t.Errorf("no host file, no server: %q", got)
	}
	_, err := ResolvConf(svcWith(types.ContainerSpec{DNS: []string{"dns.example"}}), "172.18.0.1", host)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != `service "web": dns "dns.example": invalid argument` {
		t.Errorf("bad dns: %v", err)
	}
}
