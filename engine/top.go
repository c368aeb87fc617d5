package engine

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/composer-dev/compose/engine/container"
)

// Top prints the processes of the running containers of services, one
// table per container like `docker compose top` (ps -ef's columns).
func (e *Engine) Top(ctx context.Context, projectName string, services []string, out io.Writer) error {
	recs, err := e.selectRecords(projectName, services, true)
	if err != nil {
		return err
	}
	now := time.Now()
	names := map[int]string{}
	for _, r := range recs {
		if !isRunning(r) {
			continue
		}
		procs, err := e.runtime.Processes(ctx, r.Dir)
		if err != nil {
			continue // it stopped meanwhile
		}
		fmt.Fprintln(out, r.Name)
		tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD")
		for _, p := range procs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", userName(names, p.UID), p.PID, p.PPID,
				cpuPercent(p, now), stime(p.Start, now), ttyName(p.TTY), cpuTime(p.CPUTime), command(p))
		}
		if err := tw.Flush(); err != nil {
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
func cpuPercent(p container.Process, now time.Time) int {
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

func command(p container.Process) string {
	if len(p.Cmd) == 0 {
		return "[" + p.Comm + "]"
	}
	return strings.Join(p.Cmd, " ")
}
