package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// statsInterval is how far apart two samples are (CPU % is their difference).
const statsInterval = time.Second

// StatsOptions are the flags of `compose stats`.
type StatsOptions struct {
	Services []string
	NoStream bool   // one table, then return
	Format   string // "table" (default), "json", or a Go template ("table " prefix for a header)
	Out      io.Writer
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

const statsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeader = StatsRow{
	Container: "CONTAINER", Name: "NAME", ID: "CONTAINER ID", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT",
	MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS",
}

// Stats prints the resource usage of the running containers of services
// like `docker compose stats`: refreshed every second until ctx ends, or
// once with NoStream.
func (e *Engine) Stats(ctx context.Context, projectName string, opts StatsOptions) error {
	format := opts.Format
	if format == "" || format == "table" {
		format = statsTable
	}
	header := strings.HasPrefix(format, "table ")
	var tmpl *template.Template
	if format != "json" {
		var err error
		tmpl, err = template.New("stats").Parse(strings.TrimPrefix(format, "table ") + "\n")
		if err != nil {
			return fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
	}
	prev := map[string]container.Stats{}
	for first := true; ; first = false {
		recs, err := e.selectRecords(projectName, opts.Services, true)
		if err != nil {
			return err
		}
		cur := map[string]container.Stats{}
		for _, r := range recs {
			if st, err := e.runtime.Stats(ctx, r.Dir); err == nil {
				cur[r.ID] = st
			}
		}
		if !first || !opts.NoStream {
			var rows []StatsRow
			for _, r := range recs {
				if st, ok := cur[r.ID]; ok {
					rows = append(rows, statsRow(r, prev[r.ID], st))
				}
			}
			if !opts.NoStream {
				fmt.Fprint(opts.Out, "\033[2J\033[H") // clear the screen, like docker stats
			}
			if err := printStats(opts.Out, tmpl, header, rows); err != nil {
				return err
			}
			if opts.NoStream {
				return nil
			}
		}
		prev = cur
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(statsInterval):
		}
	}
}

func printStats(out io.Writer, tmpl *template.Template, header bool, rows []StatsRow) error {
	if tmpl == nil {
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	if header {
		if err := tmpl.Execute(tw, statsHeader); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := tmpl.Execute(tw, r); err != nil {
			return fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
	}
	return tw.Flush()
}

// statsRow formats a sample the way the docker CLI does; CPU % is the CPU
// time used between the two samples over the wall time between them.
func statsRow(r *record.Record, prev, cur container.Stats) StatsRow {
	cpu := 0.0
	if wall := cur.Read.Sub(prev.Read); !prev.Read.IsZero() && wall > 0 && cur.CPUTime >= prev.CPUTime {
		cpu = float64(cur.CPUTime-prev.CPUTime) / float64(wall) * 100
	}
	limit := cur.MemoryLimit
	if limit == 0 || limit > hostMemory() {
		limit = hostMemory()
	}
	mem := 0.0
	if limit > 0 {
		mem = float64(cur.MemoryUsage) / float64(limit) * 100
	}
	return StatsRow{
		Container: r.ID[:12], Name: r.Name, ID: r.ID[:12],
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
