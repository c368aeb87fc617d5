package status

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// Process is one process of a container, as the runtime reads it.
type Process struct {
	PID, PPID int
	UID       int
	TTY       int // the kernel's tty_nr; 0 = none
	Start     time.Time
	CPUTime   time.Duration // user + system
	Cmd       []string      // argv; empty for kernel threads and zombies
	Comm      string
}

// TopOptions are the arguments of `compose top`.
type TopOptions struct {
	Services []string
}

// ContainerProcesses are the processes of one running container.
type ContainerProcesses struct {
	Name      string
	Processes []ProcessRow
}

// ProcessRow is one process as `ps -ef` shows it (`docker compose top`'s columns).
type ProcessRow struct {
	UID   string
	PID   int
	PPID  int
	C     int // CPU use over its lifetime, in percent
	STIME string
	TTY   string
	TIME  string
	CMD   string
}

// Top lists the processes of the running containers of services (all when empty).
func (r *Reporter) Top(ctx context.Context, project string, opts TopOptions) ([]ContainerProcesses, error) {
	recs, err := r.list(project, opts.Services)
	if err != nil {
		return nil, err
	}
	now := r.now()
	names := map[int]string{}
	var out []ContainerProcesses
	for _, rec := range recs {
		if !r.running(rec) {
			continue
		}
		procs, err := r.Runtime.Processes(ctx, rec.Dir)
		if err != nil {
			continue // it stopped meanwhile
		}
		c := ContainerProcesses{Name: rec.Name, Processes: make([]ProcessRow, 0, len(procs))}
		for _, p := range procs {
			c.Processes = append(c.Processes, ProcessRow{
				UID: userName(names, p.UID), PID: p.PID, PPID: p.PPID, C: cpuPercent(p, now),
				STIME: stime(p.Start, now), TTY: ttyName(p.TTY), TIME: cpuTime(p.CPUTime), CMD: command(p),
			})
		}
		out = append(out, c)
	}
	return out, nil
}

// topFormat is ps -ef's table, one per container.
var topFormat = mustFormat(Layout{
	Table: "table {{.UID}}\t{{.PID}}\t{{.PPID}}\t{{.C}}\t{{.STIME}}\t{{.TTY}}\t{{.TIME}}\t{{.CMD}}",
	Header: map[string]string{"UID": "UID", "PID": "PID", "PPID": "PPID", "C": "C", "STIME": "STIME",
		"TTY": "TTY", "TIME": "TIME", "CMD": "CMD"},
})

// PrintTop prints each container's name, its processes' table and a blank
// line, like `docker compose top`.
func PrintTop(out io.Writer, rows []ContainerProcesses) error {
	for _, c := range rows {
		fmt.Fprintln(out, c.Name)
		if err := Write(out, topFormat, c.Processes, nil); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	return nil
}

// userName is the host's name for uid, as ps shows it.
func userName(cache map[int]string, uid int) string {
	if n, ok := cache[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if u, err := user.LookupId(n); err == nil {
		n = u.Username
	}
	cache[uid] = n
	return n
}

// cpuPercent is ps's C: CPU time over lifetime, in percent.
func cpuPercent(p Process, now time.Time) int {
	life := now.Sub(p.Start)
	if life <= 0 {
		return 0
	}
	return int(p.CPUTime * 100 / life)
}

// stime is ps's STIME: the time of day when started today, else the date.
func stime(t, now time.Time) string {
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan02")
	}
	return t.Format("2006")
}

// ttyName turns a tty_nr into ps's name: pts/N, ttyN, or "?".
func ttyName(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return "pts/" + strconv.Itoa(minor+(major-136)*256)
	case major == 4 && minor < 64:
		return "tty" + strconv.Itoa(minor)
	}
	return "?"
}

// cpuTime is ps's TIME: [DD-]HH:MM:SS.
func cpuTime(d time.Duration) string {
	s := int(d / time.Second)
	days, h, m := s/86400, s/3600%24, s/60%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s%60)
}

func command(p Process) string {
	if len(p.Cmd) == 0 {
		return "[" + p.Comm + "]"
	}
	return strings.Join(p.Cmd, " ")
}
