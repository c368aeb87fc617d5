package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// BenchmarkWatchSync: the time from a file written on the host to its new
// content being readable inside the container (through the container's own
// root, /proc/PID/root, as its processes see it) under `compose watch`
// with a sync rule. Reports the median and the 99th percentile.
// Docker Compose takes 600–690 ms for the same on this kind of machine.
func BenchmarkWatchSync(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	dir := filepath.Join(b.TempDir(), "benchwatch")
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(`
services:
  app:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./src
          target: /app
          action: sync
`), 0o644)
	run := func(args ...string) {
		if out, err := composeCmd(root, dir, args...).CombinedOutput(); err != nil {
			b.Fatalf("compose %v: %v\n%s", args, err, out)
		}
	}
	run("image", "load", "-i", busyboxImage)
	b.Cleanup(func() { run("down", "-t", "0") })
	watch := composeCmd(root, dir, "watch")
	stdout, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { watch.Process.Signal(syscall.SIGINT); watch.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "Watch enabled" {
	}
	go func() { // keep draining the watch's lines
		for sc.Scan() {
		}
	}()
	pid := initPid(b, root)
	host := filepath.Join(dir, "src", "f.txt")
	inside := fmt.Sprintf("/proc/%d/root/app/f.txt", pid)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		want := "content " + strconv.Itoa(i)
		start := time.Now()
		if err := os.WriteFile(host, []byte(want), 0o644); err != nil {
			b.Fatal(err)
		}
		for {
			if got, err := os.ReadFile(inside); err == nil && string(got) == want {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("change %d not in the container after 30s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "ms-p99")
}

// initPid is the host pid of the only running container's init in root.
func initPid(b *testing.B, root string) int {
	ents, err := os.ReadDir(filepath.Join(root, "containers"))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(root, "containers", e.Name(), "state.json"))
		if err != nil {
			continue
		}
		var st struct {
			Status string
			Pid    int
		}
		if json.Unmarshal(raw, &st) == nil && st.Status == "running" && st.Pid > 1 {
			return st.Pid
		}
	}
	b.Fatalf("no running container in %s", root)
	return 0
}
