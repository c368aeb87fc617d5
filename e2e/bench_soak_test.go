package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// soakProject is a 10-service stack with published ports, two networks and
// named and anonymous volumes: what each cycle brings up and takes down.
func soakProject() string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  s%d:\n    image: busybox\n    init: true\n    command: [\"sleep\", \"600\"]\n    stop_signal: SIGKILL\n", i)
		net := "front"
		if i%2 == 1 {
			net = "back"
		}
		fmt.Fprintf(&b, "    networks: [%s]\n", net)
		if i < 3 {
			fmt.Fprintf(&b, "    ports: [\"80\"]\n") // ephemeral host ports: nothing to collide with
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, "    volumes: [\"data%d:/data\", \"/scratch\"]\n", i)
		}
		if i > 0 {
			fmt.Fprintf(&b, "    depends_on: [s%d]\n", i-1)
		}
	}
	b.WriteString("networks:\n  front:\n  back:\nvolumes:\n")
	for i := 0; i < 10; i += 3 {
		fmt.Fprintf(&b, "  data%d:\n", i)
	}
	return b.String()
}

// hostTrace counts what a state root can leave on the host: mounts,
// compose bridges and veths, nftables tables, cgroups, processes and
// files, each under a name that says where to look.
func hostTrace(root string) map[string]int {
	out := map[string]int{}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, root) || strings.Contains(l, engine.RunDir(root)) {
			out["mounts"]++
		}
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if n := l.Attrs().Name; strings.HasPrefix(n, "br-") || strings.HasPrefix(n, "veth") {
			out["links"]++
		}
	}
	if conn, err := nftables.New(); err == nil {
		tables, _ := conn.ListTables()
		for _, t := range tables {
			if strings.HasPrefix(t.Name, "compose-") {
				out["nft tables"]++
			}
		}
	}
	for _, pattern := range []string{"/sys/fs/cgroup/*/compose/*", "/sys/fs/cgroup/compose/*"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			for _, d := range m {
				if fi, err := os.Stat(d); err == nil && fi.IsDir() {
					out["cgroups"]++
				}
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(root)) {
			out["processes"]++
		}
	}
	for _, dir := range []string{filepath.Join(root, "containers"), filepath.Join(engine.RunDir(root), "netns")} {
		ents, _ := os.ReadDir(dir)
		out["files in "+filepath.Base(dir)] += len(ents)
	}
	return out
}

// BenchmarkSoak: up -d and down -v of a 10-service stack with ports, two
// networks and volumes, b.N times (run with -benchtime 100x). It reports
// the time per cycle (and of the first and last tenth, to show it stays
// flat) and what the cycles leaked: target 0.
func BenchmarkSoak(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	dir := filepath.Join(b.TempDir(), "soak")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(soakProject()), 0o644)
	run := func(args ...string) {
		if out, err := composeCmd(root, dir, args...).CombinedOutput(); err != nil {
			b.Fatalf("compose %v: %v\n%s", args, err, out)
		}
	}
	run("image", "load", "-i", busyboxImage)
	b.Cleanup(func() { composeCmd(root, dir, "down", "-v", "-t", "0").Run(); os.RemoveAll(engine.RunDir(root)) })
	before := hostTrace(root)
	cycles := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		run("--progress", "quiet", "up", "-d")
		run("--progress", "quiet", "down", "-v")
		cycles = append(cycles, time.Since(start))
	}
	b.StopTimer()
	// The DNS server leaves on its own once no network remains.
	deadline := time.Now().Add(10 * time.Second)
	after := hostTrace(root)
	for after["processes"] > before["processes"] && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		after = hostTrace(root)
	}
	leaks := 0
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			leaks += d
			b.Logf("leaked %d %s", d, k)
		}
	}
	tenth := max(len(cycles)/10, 1)
	avg := func(ds []time.Duration) float64 {
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		return float64(sum.Milliseconds()) / float64(len(ds))
	}
	b.ReportMetric(avg(cycles), "ms/cycle")
	b.ReportMetric(avg(cycles[:tenth]), "ms/first-tenth")
	b.ReportMetric(avg(cycles[len(cycles)-tenth:]), "ms/last-tenth")
	b.ReportMetric(float64(leaks), "leaks")
}
