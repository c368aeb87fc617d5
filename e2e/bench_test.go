package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/registrytest"
	"github.com/composer-dev/compose/internal/testutil"
)

// BenchmarkPullAndStart: `up -d` of a service whose image is only in a local
// registry, into an empty state root: pull, unpack, network, container start.
// Reports the whole command's wall time; `down` is not measured.
func BenchmarkPullAndStart(b *testing.B) {
	testutil.RequiresRoot(b)
	reg := registrytest.Start(b, registrytest.Options{})
	img, err := busybox.Image()
	if err != nil {
		b.Fatal(err)
	}
	ref := reg.Ref("bench/busybox:1")
	reg.Push(b, "bench/busybox:1", img)
	dir := filepath.Join(b.TempDir(), "bench")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  app:\n    image: "+ref+"\n    command: [sleep, \"60\"]\n"), 0o644)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		root := b.TempDir()
		run := func(args ...string) {
			cmd := composeCmd(root, dir, args...)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("compose %v: %v\n%s", args, err, out)
			}
		}
		start := time.Now()
		run("--progress", "quiet", "up", "-d")
		total += time.Since(start)
		run("--progress", "quiet", "down", "-t", "0")
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/pull+start")
}
