package container

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// reportMedian adds the median of ds in milliseconds to the benchmark.
func reportMedian(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "median-ms")
}

// BenchmarkCreateStart: Runtime.Start of a busybox container, from the call
// to its process running (supervisor, __create, libcontainer).
func BenchmarkCreateStart(b *testing.B) {
	testutil.RequiresRoot(b)
	rt := testRuntime(b)
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		spec := newSpec(b, rt, "sleep", "100")
		b.StartTimer()
		begin := time.Now()
		if err := rt.Start(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(begin))
		b.StopTimer()
		if err := rt.Stop(context.Background(), spec.Dir, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportMedian(b, ds)
}

// BenchmarkStop: Runtime.Stop of a container that exits on SIGTERM, until
// its exit is recorded and it is torn down.
func BenchmarkStop(b *testing.B) {
	testutil.RequiresRoot(b)
	rt := testRuntime(b)
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		spec := newSpec(b, rt, "sh", "-c", "trap 'exit 0' TERM; sleep 100 & wait")
		if err := rt.Start(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
		st, _ := ReadState(spec.Dir)
		testutil.Eventually(b, 10*time.Second, "the trap", func() bool {
			c, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/task/" + strconv.Itoa(st.Pid) + "/children")
			return len(strings.Fields(string(c))) > 0
		})
		b.StartTimer()
		begin := time.Now()
		if err := rt.Stop(context.Background(), spec.Dir, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(begin))
	}
	reportMedian(b, ds)
}

// BenchmarkSupervisorMemory runs ten containers and reports what each
// supervisor holds: its RSS, its proportional share (PSS: the binary's pages
// are shared by all supervisors), its private memory and its threads.
func BenchmarkSupervisorMemory(b *testing.B) {
	testutil.RequiresRoot(b)
	rt := testRuntime(b)
	const n = 10
	var rss, pss, private, threads float64
	// The timer runs for whole rounds (ten starts, the reading, ten stops):
	// with it stopped b.Loop would never reach its time budget and loop
	// forever. Run it with -benchtime Nx.
	for b.Loop() {
		var dirs []string
		for range n {
			spec := newSpec(b, rt, "sleep", "100")
			if err := rt.Start(context.Background(), spec); err != nil {
				b.Fatal(err)
			}
			dirs = append(dirs, spec.Dir)
		}
		rss, pss, private, threads = 0, 0, 0, 0
		for _, d := range dirs {
			st, _ := ReadState(d)
			m := memoryOf(b, st.SupervisorPid)
			rss += m["Rss"] / n
			pss += m["Pss"] / n
			private += (m["Private_Clean"] + m["Private_Dirty"]) / n
			threads += float64(threadsOf(b, st.SupervisorPid)) / n
		}
		for _, d := range dirs {
			_ = rt.Stop(context.Background(), d, 0)
		}
	}
	b.ReportMetric(rss, "rss-KiB")
	b.ReportMetric(pss, "pss-KiB")
	b.ReportMetric(private, "private-KiB")
	b.ReportMetric(threads, "threads")
}

// threadsOf counts a process's threads: each idle one still holds stacks.
func threadsOf(b *testing.B, pid int) int {
	ts, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		b.Fatal(err)
	}
	return len(ts)
}

// memoryOf reads a process's memory summary in KiB.
func memoryOf(b *testing.B, pid int) map[string]float64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			if fs := strings.Fields(v); len(fs) == 2 && fs[1] == "kB" {
				n, _ := strconv.ParseFloat(fs[0], 64)
				m[k] = n
			}
		}
	}
	return m
}
