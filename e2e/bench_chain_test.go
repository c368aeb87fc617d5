package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// chainProject is n busybox services, each depending on the one before;
// every container stops at once on SIGTERM, as a well-behaved service does.
func chainProject(n int) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  s%d:\n    image: busybox\n    command: [sh, -c, 'trap \"exit 0\" TERM; sleep 600 & wait']\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "    depends_on: [s%d]\n", i-1)
		}
	}
	return b.String()
}

// BenchmarkChain: `up -d` and `down` of a 10-service dependency chain, each
// reported as a custom metric (ms per command). Targets on the 2-core dev
// VM: up -d ≤ 700 ms, down ≤ 300 ms (a graceful down: dependents stop
// first).
func BenchmarkChain(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	b.Cleanup(func() { os.RemoveAll(engine.RunDir(root)) })
	dir := filepath.Join(b.TempDir(), "chain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(chainProject(10)), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) {
		b.Helper()
		cmd := composeCmd(root, dir, append([]string{"--progress", "quiet", "-p", "benchchain"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("compose %v: %v\n%s", args, err, out)
		}
	}
	run("image", "load", "-i", busyboxImage)
	b.Cleanup(func() { composeCmd(root, dir, "-p", "benchchain", "down", "-t", "0").Run() })
	var up, down time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run("up", "-d")
		up += time.Since(start)
		start = time.Now()
		run("down")
		down += time.Since(start)
	}
	b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "ms/up")
	b.ReportMetric(float64(down.Milliseconds())/float64(b.N), "ms/down")
}
