package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/composer-dev/compose/internal/testutil"
)

const dnsIsolationStack = `
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
`

// isoProject is one project of TestDNSIsolationProjectsAndRoots.
type isoProject struct {
	c       *cli
	name    string
	gateway string // of <name>_default
	webIP   string
}

// lookup runs nslookup in the project's web container, for at most
// seconds (a dropped query gets no answer at all).
func (p isoProject) lookup(seconds string, args ...string) result {
	return p.c.run(append([]string{"-p", p.name, "exec", "web", "timeout", seconds, "nslookup"}, args...)...)
}

// TestDNSIsolationProjectsAndRoots: two projects of one state root and one
// of another state root (another DNS server). A container resolves its own
// project's names at 127.0.0.11, but no name of another project: neither
// through its own gateway nor by asking the other network's gateway
// directly, whichever state root owns it.
func TestDNSIsolationProjectsAndRoots(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	root1, root2 := newCLI(t), newCLI(t)
	var projects []isoProject
	for _, p := range []struct {
		c    *cli
		name string
	}{{root1, "isoa" + suffix}, {root1, "isob" + suffix}, {root2, "isoc" + suffix}} {
		if len(projects) == 0 || projects[len(projects)-1].c != p.c {
			p.c.loadBusybox()
			p.c.dir = t.TempDir()
			if err := os.WriteFile(filepath.Join(p.c.dir, "compose.yaml"), []byte(dnsIsolationStack), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { p.c.run("-p", p.name, "down", "-t", "0") })
		p.c.must("-p", p.name, "up", "-d")
		proj := isoProject{c: p.c, name: p.name}
		for _, n := range p.c.networks() {
			if n.Name != p.name+"_default" {
				continue
			}
			proj.gateway = n.Gateway
			for _, e := range n.Endpoints {
				proj.webIP = e.IP
			}
		}
		if proj.gateway == "" || proj.webIP == "" {
			t.Fatalf("project %s: no network or address: %+v", p.name, p.c.networks())
		}
		projects = append(projects, proj)
	}
	a, bb, c := projects[0], projects[1], projects[2]

	for _, p := range projects {
		for _, name := range []string{"web", p.name + "-web-1"} {
			if r := p.lookup("10", name); r.code != 0 || !strings.Contains(r.stdout, p.webIP) {
				t.Errorf("%s does not resolve its own %s at 127.0.0.11: %s", p.name, name, r)
			}
		}
	}
	for _, q := range []struct {
		what     string
		from, of isoProject
		direct   bool // ask of's gateway, not 127.0.0.11
	}{
		{"same root, own gateway", a, bb, false},
		{"same root, the other gateway", a, bb, true},
		{"same root, the other gateway", bb, a, true},
		{"other root, own gateway", c, bb, false},
		{"other root, the other gateway", c, bb, true},
		{"other root, the other gateway", a, c, true},
	} {
		args := []string{q.of.name + "-web-1"}
		if q.direct {
			args = append(args, q.of.gateway)
		}
		if r := q.from.lookup("2", args...); r.code == 0 || strings.Contains(r.stdout, q.of.webIP) {
			t.Errorf("%s: %s resolves %s's web (%v): %s", q.what, q.from.name, q.of.name, args, r)
		}
	}
}
