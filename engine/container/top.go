package container

import (
	"bytes"
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc times (100 on every Linux ABI Go supports).
const clockTicks = 100

// Process is one process of a container, as `ps -ef` describes it.
type Process struct {
	PID, PPID int
	UID       int
	TTY       int // the kernel's tty_nr; 0 = none
	Start     time.Time
	CPUTime   time.Duration // user + system
	Cmd       []string      // argv; empty for kernel threads and zombies
	Comm      string
}

// Processes lists the processes of the running container (host pids),
// ordered by pid.
func (r *Runtime) Processes(ctx context.Context, dir string) ([]Process, error) {
	_, c, err := r.loadLive(dir)
	if err != nil {
		return nil, err
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, err
	}
	sort.Ints(pids)
	boot := bootTime()
	var out []Process
	for _, pid := range pids {
		if p, ok := readProcess(pid, boot); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// readProcess reads /proc/<pid>; false if it is gone.
func readProcess(pid int, boot time.Time) (Process, bool) {
	base := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(base + "/stat")
	if err != nil {
		return Process{}, false
	}
	p := Process{PID: pid}
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return Process{}, false
	}
	p.Comm = string(stat[open+1 : end])
	f := strings.Fields(string(stat[end+1:]))
	// Fields after ')': [0] state, [1] ppid, [4] tty_nr, [11] utime, [12] stime, [19] starttime.
	if len(f) < 20 {
		return Process{}, false
	}
	num := func(i int) uint64 { n, _ := strconv.ParseUint(f[i], 10, 64); return n }
	p.PPID = int(num(1))
	p.TTY = int(num(4))
	p.CPUTime = time.Duration(num(11)+num(12)) * time.Second / clockTicks
	p.Start = boot.Add(time.Duration(num(19)) * time.Second / clockTicks)
	if status, err := os.ReadFile(base + "/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if fs := strings.Fields(v); len(fs) > 0 {
					p.UID, _ = strconv.Atoi(fs[0])
				}
			}
		}
	}
	if cmd, err := os.ReadFile(base + "/cmdline"); err == nil && len(cmd) > 0 {
		p.Cmd = strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	}
	return p, true
}

// bootTime is when the host booted (btime in /proc/stat).
func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(n, 0)
		}
	}
	return time.Time{}
}
