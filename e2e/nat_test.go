package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/testutil"
)

const natStack = `
services:
  client:
    image: busybox
    command: ["sleep", "1000"]
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: %s
`

// TestOutboundNAT reaches a server in a namespace standing in for the
// outside world, which has no route back to the bridge: the answer (the
// source address the server saw) proves the host masqueraded the
// container. It runs with Docker's typical firewall in place: an ip filter
// table whose FORWARD policy is drop. After down our rules are gone and
// the firewall's table is as the test left it.
func TestOutboundNAT(t *testing.T) {
	testutil.RequiresRoot(t)
	out := newOutside(t)
	server := out.serveSourceAddr(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	bridge := "cnat" + hex.EncodeToString(b)
	fw := newForwardDropFirewall(t, bridge)

	c := projectCLI(t, "nat", fmt.Sprintf(natStack, bridge))
	c.must("up", "-d")
	got := httpFromContainer(t, c, "client", server)
	if got != out.hostIP.String() {
		t.Fatalf("server saw %q, want the host's address %s", got, out.hostIP)
	}
	if fw != nil && fw.ourRules(t, bridge) == 0 {
		t.Errorf("no accept rules for %s in the firewall's FORWARD chain", bridge)
	}
	c.must("down", "-t", "0")

	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if strings.Contains(tb.Name, bridge) {
			t.Errorf("table %s left after down", tb.Name)
		}
	}
	if fw != nil {
		if n := fw.ourRules(t, bridge); n != 0 {
			t.Errorf("%d rules for %s left in the firewall after down", n, bridge)
		}
		fw.assertIntact(t)
	}
}

// forwardDrop is the test's own ip filter table: FORWARD with policy drop
// and one rule that accepts everything not touching the test's bridge, so
// parallel tests are unaffected.
type forwardDrop struct {
	table *nftables.Table
	chain *nftables.Chain
	rule  string // comment of the test's own rule
}

// newForwardDropFirewall creates the table (nil when the host has an ip
// filter table already: it is not ours to change); t.Cleanup removes it.
func newForwardDropFirewall(t *testing.T, bridge string) *forwardDrop {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTableOfFamily("filter", nftables.TableFamilyIPv4); err == nil {
		t.Logf("the host has an ip filter table already: running without the test's firewall")
		return nil
	}
	fw := &forwardDrop{table: &nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4}, rule: "test-accept-others"}
	drop := nftables.ChainPolicyDrop
	c.AddTable(fw.table)
	fw.chain = c.AddChain(&nftables.Chain{Name: "FORWARD", Table: fw.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, bridge)
	c.AddRule(&nftables.Rule{Table: fw.table, Chain: fw.chain, UserData: userdata.AppendString(nil, userdata.TypeComment, fw.rule),
		Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: name},
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: name},
			&expr.Verdict{Kind: expr.VerdictAccept},
		}})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.DelTable(fw.table)
		if err := c.Flush(); err != nil {
			t.Errorf("remove the test's ip filter table: %v", err)
		}
	})
	return fw
}

func (fw *forwardDrop) rules(t *testing.T) []*nftables.Rule {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.GetRules(fw.table, fw.chain)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// ourRules counts the rules compose added for bridge.
func (fw *forwardDrop) ourRules(t *testing.T, bridge string) int {
	n := 0
	for _, r := range fw.rules(t) {
		if comment(r.UserData) == "compose:"+bridge {
			n++
		}
	}
	return n
}

// assertIntact checks the test's rule and drop policy survived.
func (fw *forwardDrop) assertIntact(t *testing.T) {
	t.Helper()
	found := false
	for _, r := range fw.rules(t) {
		found = found || comment(r.UserData) == fw.rule
	}
	if !found {
		t.Errorf("the test's own FORWARD rule is gone")
	}
	c, _ := nftables.New()
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.Table.Name == "filter" && ch.Name == "FORWARD" && (ch.Policy == nil || *ch.Policy != nftables.ChainPolicyDrop) {
			t.Errorf("FORWARD policy changed")
		}
	}
}

func comment(ud []byte) string {
	if s, ok := userdata.GetString(ud, userdata.TypeComment); ok {
		return strings.TrimRight(s, "\x00")
	}
	return ""
}

// httpFromContainer GETs / from addr inside the service's container and
// returns the trimmed body. nc, not wget: busybox-static's wget crashes
// (SIGSEGV) on some answers of Go's HTTP server.
func httpFromContainer(t *testing.T, c *cli, service, addr string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	r := c.run("exec", service, "sh", "-c", fmt.Sprintf("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 %s %s", host, port))
	if r.code != 0 {
		t.Fatalf("GET http://%s/ from %s: %s", addr, service, r)
	}
	_, body, ok := strings.Cut(strings.ReplaceAll(r.stdout, "\r\n", "\n"), "\n\n")
	if !ok || !strings.HasPrefix(r.stdout, "HTTP/1.") || !strings.Contains(strings.SplitN(r.stdout, "\n", 2)[0], " 200") {
		t.Fatalf("GET http://%s/ from %s: %s", addr, service, r)
	}
	return strings.TrimSpace(body)
}
