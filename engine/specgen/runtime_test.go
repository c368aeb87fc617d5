package specgen

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// fakeRuntime stands in for engine/container: a few capabilities and
// ulimits, a fixed nr_open, and the host facts a test chooses.
type fakeRuntime struct {
	cgroupV2, swap bool
	hard           map[string]uint64 // HardLimit
}

// testRuntime is a cgroup v2 host that accounts swap.
func testRuntime() *fakeRuntime { return &fakeRuntime{cgroupV2: true, swap: true} }

const fakeNrOpen = 1 << 20

func (f *fakeRuntime) CheckCapability(name string) error {
	c := strings.TrimPrefix(strings.ToUpper(name), "CAP_")
	if !slices.Contains([]string{"ALL", "CHOWN", "NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE"}, c) {
		return fmt.Errorf("unknown capability: %q: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

func (f *fakeRuntime) CheckDeviceCgroupRule(rule string) error {
	if f := strings.Fields(rule); len(f) != 3 || !strings.Contains("acb", f[0]) {
		return fmt.Errorf("device cgroup rule %q: %w", rule, errdefs.ErrInvalidArgument)
	}
	return nil
}

func (f *fakeRuntime) CheckUlimit(u runspec.Ulimit) error {
	if !slices.Contains([]string{"core", "memlock", "nofile", "nproc", "stack"}, u.Name) {
		return fmt.Errorf("ulimit %q: unknown: %w", u.Name, errdefs.ErrInvalidArgument)
	}
	if u.Hard >= 0 && (u.Soft < 0 || u.Soft > u.Hard) {
		return fmt.Errorf("ulimit %s: soft limit %d is above the hard limit %d: %w", u.Name, u.Soft, u.Hard, errdefs.ErrInvalidArgument)
	}
	if u.Name == "nofile" && (u.Hard < 0 || u.Hard > fakeNrOpen) {
		return fmt.Errorf("ulimit nofile: above this host's maximum (sysctl fs.nr_open): %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

func (f *fakeRuntime) CheckSeccompProfile(profile []byte) error {
	var p struct{ DefaultAction string }
	if err := json.Unmarshal(profile, &p); err != nil || !strings.HasPrefix(p.DefaultAction, "SCMP_ACT_") || p.DefaultAction == "SCMP_ACT_NOPE" {
		return fmt.Errorf("seccomp profile: bad defaultAction: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

func (f *fakeRuntime) HardLimit(ulimit string) (uint64, bool) {
	n, ok := f.hard[ulimit]
	return n, ok
}

func (f *fakeRuntime) CgroupV2() bool           { return f.cgroupV2 }
func (f *fakeRuntime) SwapLimitSupported() bool { return f.swap }
