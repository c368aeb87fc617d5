package container

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stats is one sample of a container's resource usage from its cgroup
// (v1 or v2) and network namespace.
type Stats struct {
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

// unlimited is how cgroups report "no memory limit" (v1: a page-rounded
// MaxInt64; v2 "max" reads as MaxUint64 in libcontainer).
const unlimited = 1 << 62

// Stats samples the running container's resource usage.
func (r *Runtime) Stats(ctx context.Context, dir string) (Stats, error) {
	spec, c, err := r.loadLive(dir)
	if err != nil {
		return Stats{}, err
	}
	ls, err := c.Stats()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Read: time.Now()}
	if ls.CgroupStats != nil {
		cg := ls.CgroupStats
		st.CPUTime = time.Duration(cg.CpuStats.CpuUsage.TotalUsage)
		mem := cg.MemoryStats
		st.MemoryUsage = mem.Usage.Usage
		inactive, ok := mem.Stats["total_inactive_file"] // v1
		if !ok {
			inactive = mem.Stats["inactive_file"] // v2
		}
		if inactive < st.MemoryUsage {
			st.MemoryUsage -= inactive
		}
		if mem.Usage.Limit < unlimited {
			st.MemoryLimit = mem.Usage.Limit
		}
		for _, e := range cg.BlkioStats.IoServiceBytesRecursive {
			switch strings.ToLower(e.Op) {
			case "read":
				st.BlockRead += e.Value
			case "write":
				st.BlockWrite += e.Value
			}
		}
		st.Pids = cg.PidsStats.Current
	}
	if s, err := ReadState(spec.Dir); err == nil && s.Pid > 0 {
		st.NetRx, st.NetTx = netDev(s.Pid)
	}
	return st, nil
}

// netDev sums the bytes received and sent on the interfaces (but lo) of
// the network namespace pid is in.
func netDev(pid int) (rx, tx uint64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx += r
		tx += t
	}
	return rx, tx
}
