package container

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// rlimits maps Docker's ulimit names to the kernel's resources.
var rlimits = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU,
	"data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS,
	"memlock": unix.RLIMIT_MEMLOCK, "msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE,
	"nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS,
	"rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME,
	"sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// UlimitNames lists the ulimits a container may set.
func UlimitNames() []string {
	names := make([]string, 0, len(rlimits))
	for n := range rlimits {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckUlimit validates one ulimit against this host: a known name, soft
// not above hard, and nofile not above the kernel's fs.nr_open (the one
// limit even root cannot raise).
func CheckUlimit(u Ulimit) error {
	if _, ok := rlimits[u.Name]; !ok {
		return fmt.Errorf("ulimit %q: unknown; want one of %s: %w", u.Name, strings.Join(UlimitNames(), ", "), errdefs.ErrInvalidArgument)
	}
	if u.Soft < -1 || u.Hard < -1 {
		return fmt.Errorf("ulimit %s: values must be -1 (unlimited) or more: %w", u.Name, errdefs.ErrInvalidArgument)
	}
	if rlimValue(u.Soft) > rlimValue(u.Hard) {
		return fmt.Errorf("ulimit %s: soft limit %d is above the hard limit %d: %w", u.Name, u.Soft, u.Hard, errdefs.ErrInvalidArgument)
	}
	if u.Name == "nofile" {
		if max, ok := nrOpen(); ok && rlimValue(u.Hard) > max {
			return fmt.Errorf("ulimit nofile: hard limit %s is above this host's maximum %d (sysctl fs.nr_open): %w", limitString(u.Hard), max, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// HostHardLimit returns this process's hard limit for a ulimit name: what
// the container would inherit.
func HostHardLimit(name string) (uint64, bool) {
	res, ok := rlimits[name]
	if !ok {
		return 0, false
	}
	var l unix.Rlimit
	if err := unix.Getrlimit(res, &l); err != nil {
		return 0, false
	}
	return l.Max, true
}

func nrOpen() (uint64, bool) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func rlimValue(v int64) uint64 {
	if v < 0 {
		return unix.RLIM_INFINITY
	}
	return uint64(v)
}

func limitString(v int64) string {
	if v < 0 {
		return "unlimited"
	}
	return strconv.FormatInt(v, 10)
}

// configRlimits converts the container's ulimits for libcontainer.
func configRlimits(us []Ulimit) ([]configs.Rlimit, error) {
	var out []configs.Rlimit
	for _, u := range us {
		if err := CheckUlimit(u); err != nil {
			return nil, err
		}
		out = append(out, configs.Rlimit{Type: rlimits[u.Name], Soft: rlimValue(u.Soft), Hard: rlimValue(u.Hard)})
	}
	return out, nil
}
