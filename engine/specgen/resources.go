package specgen

import (
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/runspec"
)

// minMemory is Docker's smallest memory limit.
const minMemory = 6 << 20

// resources maps the cgroup limits (service keys, or deploy.resources when
// those are unset; compose-go already refuses distinct values for both) with
// Docker's checks and defaults.
func (m *optionsMapper) resources(o *runspec.Options) error {
	s := m.svc
	r := runspec.Resources{
		Memory:            int64(s.MemLimit),
		MemorySwap:        int64(s.MemSwapLimit),
		MemoryReservation: int64(s.MemReservation),
		CPUShares:         uint64(max(s.CPUShares, 0)),
		CPUQuota:          s.CPUQuota,
		CPUPeriod:         uint64(max(s.CPUPeriod, 0)),
		CpusetCpus:        s.CPUSet,
		PidsLimit:         s.PidsLimit,
		OOMKillDisable:    s.OomKillDisable,
		NanoCPUs:          int64(float64(s.CPUS) * 1e9),
	}
	if d := s.Deploy; d != nil {
		if l := d.Resources.Limits; l != nil {
			if r.Memory == 0 {
				r.Memory = int64(l.MemoryBytes)
			}
			if r.NanoCPUs == 0 {
				r.NanoCPUs = int64(float64(l.NanoCPUs) * 1e9)
			}
			if r.PidsLimit == 0 {
				r.PidsLimit = l.Pids
			}
		}
		if rs := d.Resources.Reservations; rs != nil {
			if r.MemoryReservation == 0 {
				r.MemoryReservation = int64(rs.MemoryBytes)
			}
			if rs.NanoCPUs != 0 {
				m.warn("deploy.resources.reservations.cpus is not enforced on a single host: ignored")
			}
		}
	}
	if err := m.memory(&r); err != nil {
		return err
	}
	if err := m.cpu(&r); err != nil {
		return err
	}
	if r.PidsLimit < -1 {
		return invalid("pids_limit %d: want a positive number, or -1 or 0 for no limit", r.PidsLimit)
	}
	o.Resources = r
	return nil
}

func (m *optionsMapper) memory(r *runspec.Resources) error {
	s := m.svc
	if r.Memory < 0 || r.MemoryReservation < 0 || r.MemorySwap < -1 {
		return invalid("memory limits must be positive (memswap_limit may be -1 for unlimited swap)")
	}
	if r.Memory > 0 && r.Memory < minMemory {
		return invalid("mem_limit %s: the minimum is 6MB", units.BytesSize(float64(r.Memory)))
	}
	if r.MemorySwap > 0 {
		if r.Memory == 0 {
			return invalid("memswap_limit needs mem_limit too")
		}
		if r.MemorySwap < r.Memory {
			return invalid("memswap_limit (%s) must be at least mem_limit (%s): it counts memory plus swap",
				units.BytesSize(float64(r.MemorySwap)), units.BytesSize(float64(r.Memory)))
		}
	}
	if r.Memory > 0 && r.MemoryReservation > r.Memory {
		return invalid("mem_reservation (%s) must not be above mem_limit (%s)",
			units.BytesSize(float64(r.MemoryReservation)), units.BytesSize(float64(r.Memory)))
	}
	switch {
	case !m.in.Runtime.SwapLimitSupported():
		if r.MemorySwap > 0 {
			m.warn("memswap_limit is ignored: this kernel does not account swap in cgroups (memory is limited without swap)")
		}
		r.MemorySwap = 0
	case r.Memory > 0 && r.MemorySwap == 0:
		r.MemorySwap = 2 * r.Memory // Docker's default: as much swap as memory
	}
	if sw := int64(s.MemSwappiness); sw != 0 {
		switch {
		case sw < 0 || sw > 100:
			return invalid("mem_swappiness %d: want 0 to 100", sw)
		case m.in.Runtime.CgroupV2():
			m.warn("mem_swappiness is ignored: cgroup v2 has no per-cgroup swappiness")
		default:
			v := uint64(sw)
			r.MemorySwappiness = &v
		}
	}
	if r.OOMKillDisable {
		switch {
		case m.in.Runtime.CgroupV2():
			m.warn("oom_kill_disable is ignored: cgroup v2 cannot disable the OOM killer")
			r.OOMKillDisable = false
		case r.Memory == 0:
			m.warn("oom_kill_disable without mem_limit can make the host run out of memory")
		}
	}
	return nil
}

func (m *optionsMapper) cpu(r *runspec.Resources) error {
	if r.NanoCPUs < 0 || m.svc.CPUShares < 0 || r.CPUQuota < 0 || m.svc.CPUPeriod < 0 {
		return invalid("cpu limits must be positive")
	}
	if r.NanoCPUs > 0 {
		if r.CPUQuota > 0 || r.CPUPeriod > 0 {
			return invalid("cpus cannot be combined with cpu_quota or cpu_period")
		}
		n := runtime.NumCPU()
		if r.NanoCPUs < 1e7 || r.NanoCPUs > int64(n)*1e9 {
			return invalid("cpus %.2f: the range is 0.01 to %d.00, as there are only %d CPUs available", float64(r.NanoCPUs)/1e9, n, n)
		}
	}
	if r.CPUQuota > 0 && r.CPUQuota < 1000 {
		return invalid("cpu_quota %d: the minimum is 1000 (1ms)", r.CPUQuota)
	}
	if r.CPUPeriod > 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000) {
		return invalid("cpu_period %d: want 1000 to 1000000 (1ms to 1s)", r.CPUPeriod)
	}
	if r.CPUShares > 0 && r.CPUShares < 2 {
		m.warn("cpu_shares %d raised to the minimum, 2", r.CPUShares)
		r.CPUShares = 2
	}
	if r.CPUShares > 262144 {
		m.warn("cpu_shares %d lowered to the maximum, 262144", r.CPUShares)
		r.CPUShares = 262144
	}
	if r.CpusetCpus != "" {
		if err := checkCpuset(r.CpusetCpus); err != nil {
			return err
		}
	}
	return nil
}

// checkCpuset validates a cpuset ("0-2,4") against the host's online CPUs.
func checkCpuset(set string) error {
	online := map[int]bool{}
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	hostSet := strings.TrimSpace(string(b))
	if err == nil {
		ids, _ := parseCPUList(hostSet)
		for _, id := range ids {
			online[id] = true
		}
	}
	ids, err := parseCPUList(set)
	if err != nil {
		return invalid("cpuset %q: want CPU numbers and ranges such as 0-2,4", set)
	}
	for _, id := range ids {
		if len(online) > 0 && !online[id] {
			return invalid("cpuset %q: CPU %d is not available (this host has %s)", set, id, hostSet)
		}
	}
	return nil
}

func parseCPUList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, invalid("bad cpu list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, invalid("bad cpu list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
