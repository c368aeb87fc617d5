package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// TestHelloStack is the walking skeleton's promise: `up -d` returns, the
// stack keeps running without the CLI, the client reaches the web service by
// name, `logs -f` follows, and `down` leaves the host as it was.
func TestHelloStack(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	file := filepath.Join(repoRoot, "examples", "hello", "compose.yaml")
	proj := []string{"-f", file, "-p", "hello-e2e"}
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "1")...) })

	c.must(append(proj, "up", "-d")...)
	entries := c.ps(proj...)
	if len(entries) != 2 {
		t.Fatalf("ps: want 2 containers, got %+v", entries)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name] = true
		if e.State != "running" {
			t.Errorf("%s: state %q, want running", e.Name, e.State)
		}
	}
	if !names["hello-e2e-web-1"] || !names["hello-e2e-client-1"] {
		t.Fatalf("container names: %v", names)
	}
	table := c.must(append(proj, "ps")...).stdout
	if !strings.HasPrefix(table, "NAME ") || !strings.Contains(table, "hello-e2e-web-1") || !strings.Contains(table, "Up ") {
		t.Errorf("ps table:\n%s", table)
	}

	testutil.Eventually(t, 30*time.Second, "the client to fetch the page from web by name", func() bool {
		return strings.Contains(c.run(append(proj, "logs", "client")...).stdout, "hello from web")
	})
	logs := c.must(append(proj, "logs", "--no-color")...).stdout
	if !regexp.MustCompile(`(?m)^client-1\s+\| fetch \d+: hello from web`).MatchString(logs) {
		t.Errorf("aggregated logs lack the prefixed client line:\n%s", logs)
	}

	// logs -f must show lines written after it started.
	last := lastFetch(c.must(append(proj, "logs", "--no-color", "client")...).stdout)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	follow := c.command(ctx, append(proj, "logs", "-f", "--no-color", "client")...)
	out, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { follow.Process.Kill(); follow.Wait() }()
	if !waitForFetchAfter(out, last+1) {
		t.Fatalf("logs -f did not show a fetch after #%d", last)
	}

	snap := c.snapshot(entries)
	c.must(append(proj, "down")...)
	c.assertClean(snap)
}

var fetchRE = regexp.MustCompile(`fetch (\d+): hello from web`)

func lastFetch(s string) int {
	n := 0
	for _, m := range fetchRE.FindAllStringSubmatch(s, -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}

func waitForFetchAfter(r io.Reader, want int) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if lastFetch(sc.Text()) > want {
			return true
		}
	}
	return false
}

// TestTwoProjects runs the same stack twice side by side: names, subnets and
// DNS answers must not mix.
func TestTwoProjects(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	file := filepath.Join(repoRoot, "examples", "hello", "compose.yaml")
	var all []psEntry
	webs := map[string]string{} // project -> web container hostname (short ID)
	for _, p := range []string{"twoa", "twob"} {
		proj := []string{"-f", file, "-p", p}
		t.Cleanup(func() { c.run(append(proj, "down", "-t", "1")...) })
		c.must(append(proj, "up", "-d")...)
		entries := c.ps(proj...)
		all = append(all, entries...)
		for _, e := range entries {
			if e.Service == "web" {
				webs[p] = e.ID[:12]
			}
			if !strings.HasPrefix(e.Name, p+"-") {
				t.Errorf("container %s not named after project %s", e.Name, p)
			}
		}
	}
	for p, host := range webs {
		testutil.Eventually(t, 30*time.Second, "project "+p+"'s client to reach its own web", func() bool {
			return strings.Contains(c.run("-f", file, "-p", p, "logs", "client").stdout, "hello from web ("+host+")")
		})
		for other, otherHost := range webs {
			if other != p && strings.Contains(c.run("-f", file, "-p", p, "logs", "client").stdout, otherHost) {
				t.Errorf("project %s's client reached %s's web", p, other)
			}
		}
	}
	nets := c.networks()
	if len(nets) != 2 || nets[0].Subnet == nets[1].Subnet {
		t.Fatalf("want two networks with different subnets, got %+v", nets)
	}
	snap := c.snapshot(all)
	for _, p := range []string{"twoa", "twob"} {
		c.must("-f", file, "-p", p, "down")
	}
	c.assertClean(snap)
}

// TestBadInput: each mistake fails with one clear line, exit code 1, and
// creates nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	write := func(name, content string) string {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good", "services:\n  web:\n    image: busybox\n    command: [sleep, \"60\"]\n")
	os.Chmod(filepath.Dir(filepath.Dir(good)), 0o755)
	cases := []struct {
		name   string
		args   []string
		nobody bool
		want   []string
	}{
		// Docker Compose prints yaml.v3's message alone: "yaml: line 1: did not find expected key".
		{"yaml syntax", []string{"-f", write("syntax", "services:\n  web:\n    image: busybox\n   bad: [\n"), "up", "-d"}, false, []string{"yaml: line 1: did not find expected key"}},
		{"unknown service", []string{"-f", good, "up", "-d", "nosuch"}, false, []string{"no such service: nosuch"}},
		{"cycle", []string{"-f", write("cycle", "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n"), "up", "-d"}, false, []string{"cycle", "a", "b"}},
		{"missing image", []string{"-f", write("noimage", "services:\n  web:\n    image: nosuchimage:1.0\n"), "up", "-d", "--pull", "never"}, false, []string{"nosuchimage:1.0", "not found"}},
		{"unreachable registry", []string{"-f", write("noregistry", "services:\n  web:\n    image: 127.0.0.1:1/nosuch:1.0\n"), "up", "-d"}, false, []string{"127.0.0.1:1"}},
		{"not root", []string{"-f", good, "up", "-d"}, true, []string{"root"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r result
			args := append([]string{"--progress", "quiet"}, tc.args...) // stderr holds the error alone
			if tc.nobody {
				r = c.runAsNobody(args...)
			} else {
				r = c.run(args...)
			}
			if r.code != 1 {
				t.Fatalf("want exit 1: %s", r)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Contains(msg, "\n") || msg == "" {
				t.Errorf("want exactly one line on stderr: %q", r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine") {
				t.Errorf("stderr shows a crash: %q", msg)
			}
			if ents, _ := os.ReadDir(filepath.Join(c.root, "containers")); len(ents) > 0 {
				t.Errorf("containers were created: %v", ents)
			}
			if nets := c.networks(); len(nets) > 0 {
				t.Errorf("networks were created: %+v", nets)
			}
		})
	}
}

// TestKilledSupervisor: when a supervisor dies (kill -9, OOM killer), the
// next command reports the container exited and `down` still cleans up all.
func TestKilledSupervisor(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	file := filepath.Join(repoRoot, "examples", "hello", "compose.yaml")
	proj := []string{"-f", file, "-p", "killed"}
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "1")...) })
	c.must(append(proj, "up", "-d")...)
	entries := c.ps(proj...)
	snap := c.snapshot(entries)
	var web psEntry
	for _, e := range entries {
		if e.Service == "web" {
			web = e
		}
	}
	pids := processesMentioning(filepath.Join(c.root, "containers", web.ID))
	if len(pids) != 1 {
		t.Fatalf("want one supervisor for %s, got %v", web.Name, pids)
	}
	pid, _ := strconv.Atoi(strings.Split(pids[0], "/")[2])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, web.Name+" to be reported exited", func() bool {
		for _, e := range c.ps(proj...) {
			if e.Name == web.Name {
				return e.State == "exited"
			}
		}
		return false
	})
	c.must(append(proj, "down")...)
	c.assertClean(snap)
}
