package status

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/record"
)

// statsInterval is how far apart two samples are (CPU % is their difference).
const statsInterval = time.Second

// Sample is one reading of a container's resource usage.
type Sample struct {
	Read        time.Time
	CPUTime     time.Duration // total CPU time used so far
	MemoryUsage uint64        // without the inactive page cache, as `docker stats` shows it
	MemoryLimit uint64        // 0 = no limit
	NetRx       uint64
	NetTx       uint64
	BlockRead   uint64
	BlockWrite  uint64
	Pids        uint64
}

// StatsOptions are the flags of `compose stats`.
type StatsOptions struct {
	Services []string
	NoStream bool   // one table, then return
	Format   string // "table" (default), "json", or a Go template ("table " prefix for a header)
}

// StatsRow is one container's line, with `docker stats`'s field names for --format.
type StatsRow struct {
	Container string `json:"Container"`
	Name      string `json:"Name"`
	ID        string `json:"ID"`
	CPUPerc   string `json:"CPUPerc"`
	MemUsage  string `json:"MemUsage"`
	MemPerc   string `json:"MemPerc"`
	NetIO     string `json:"NetIO"`
	BlockIO   string `json:"BlockIO"`
	PIDs      string `json:"PIDs"`
}

// Stats samples the running containers of services (all when empty) and
// yields their rows: every second until ctx ends, or, with NoStream, once,
// a second after a first sample (CPU % is the use between the two).
func (r *Reporter) Stats(ctx context.Context, project string, opts StatsOptions) iter.Seq2[[]StatsRow, error] {
	return func(yield func([]StatsRow, error) bool) {
		host := hostMemory()
		prev := map[string]Sample{}
		for first := true; ; first = false {
			recs, err := r.list(project, opts.Services)
			if err != nil {
				yield(nil, err)
				return
			}
			cur := map[string]Sample{}
			for _, rec := range recs {
				if s, err := r.Runtime.Stats(ctx, rec.Dir); err == nil {
					cur[rec.ID] = s
				}
			}
			if !first || !opts.NoStream {
				var rows []StatsRow
				for _, rec := range recs {
					if s, ok := cur[rec.ID]; ok {
						rows = append(rows, statsRow(rec, prev[rec.ID], s, host))
					}
				}
				if !yield(rows, nil) || opts.NoStream {
					return
				}
			}
			prev = cur
			select {
			case <-ctx.Done():
				return
			case <-time.After(statsInterval):
			}
		}
	}
}

// statsRow formats a sample the way the docker CLI does; CPU % is the CPU
// time used between the two samples over the wall time between them. A
// container without a memory limit (or one above the host's memory) shows
// the host's.
func statsRow(r *record.Record, prev, cur Sample, host uint64) StatsRow {
	cpu := 0.0
	if wall := cur.Read.Sub(prev.Read); !prev.Read.IsZero() && wall > 0 && cur.CPUTime >= prev.CPUTime {
		cpu = float64(cur.CPUTime-prev.CPUTime) / float64(wall) * 100
	}
	limit := cur.MemoryLimit
	if limit == 0 || limit > host {
		limit = host
	}
	mem := 0.0
	if limit > 0 {
		mem = float64(cur.MemoryUsage) / float64(limit) * 100
	}
	return StatsRow{
		Container: ShortID(r.ID), Name: r.Name, ID: ShortID(r.ID),
		CPUPerc:  fmt.Sprintf("%.2f%%", cpu),
		MemUsage: units.BytesSize(float64(cur.MemoryUsage)) + " / " + units.BytesSize(float64(limit)),
		MemPerc:  fmt.Sprintf("%.2f%%", mem),
		NetIO:    units.HumanSizeWithPrecision(float64(cur.NetRx), 3) + " / " + units.HumanSizeWithPrecision(float64(cur.NetTx), 3),
		BlockIO:  units.HumanSizeWithPrecision(float64(cur.BlockRead), 3) + " / " + units.HumanSizeWithPrecision(float64(cur.BlockWrite), 3),
		PIDs:     strconv.FormatUint(cur.Pids, 10),
	}
}

// hostMemory is the host's total memory, shown as the limit of a container without one.
func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// statsLayout is `docker stats`'s table (its columns at least 10 wide).
var statsLayout = Layout{
	Table: "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
	Header: StatsRow{
		Container: "CONTAINER", Name: "NAME", ID: "CONTAINER ID", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT",
		MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS",
	},
	MinWidth: 10,
}

// clearScreen starts each refreshed table at the top, like docker stats.
const clearScreen = "\033[2J\033[H"

// PrintStats prints each sample's rows in opts.Format; when streaming, each
// on a cleared screen.
func PrintStats(out io.Writer, samples iter.Seq2[[]StatsRow, error], opts StatsOptions) error {
	f, err := ParseFormat(opts.Format, statsLayout)
	if err != nil {
		return err
	}
	for rows, err := range samples {
		if err != nil {
			return err
		}
		if !opts.NoStream {
			fmt.Fprint(out, clearScreen)
		}
		if err := Write(out, f, rows, nil); err != nil {
			return err
		}
	}
	return nil
}
