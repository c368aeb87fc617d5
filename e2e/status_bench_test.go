package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/testutil"
)

// BenchmarkStatus100: a project with 100 running containers (one service,
// scale 100); reports the wall time of `ps`, `ps -a --format json`, `logs`
// and `exec` (each a whole CLI run) and of `down`. `up` is not measured.
func BenchmarkStatus100(b *testing.B) {
	testutil.RequiresRoot(b)
	dir := filepath.Join(b.TempDir(), "hundred")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	yaml := "services:\n  app:\n    image: busybox\n    scale: 100\n    command: [sh, -c, 'echo ready; trap \"exit 0\" TERM; sleep 600 & wait']\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	b.Cleanup(func() { os.RemoveAll(engine.RunDir(root)) })
	run := func(args ...string) time.Duration {
		start := time.Now()
		cmd := composeCmd(root, dir, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("compose %v: %v\n%s", args, err, out)
		}
		return time.Since(start)
	}
	run("image", "load", "-i", busyboxImage)
	b.Cleanup(func() { run("--progress", "quiet", "down", "-t", "0") })
	run("--progress", "quiet", "up", "-d")
	ops := []struct {
		name string
		args []string
	}{
		{"ps", []string{"ps"}},
		{"ps-json", []string{"ps", "-a", "--format", "json"}},
		{"logs", []string{"logs", "--no-color"}},
		{"exec", []string{"exec", "-T", "--index", "50", "app", "true"}},
	}
	b.ResetTimer()
	for _, op := range ops {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += run(op.args...)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/"+op.name)
	}
	b.ReportMetric(float64(run("--progress", "quiet", "down").Milliseconds()), "ms/down-100")
}
