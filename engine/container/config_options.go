package container

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/composer-dev/compose/errdefs"
)

// InitDest is where the init binary appears in the container (Docker's path).
const InitDest = "/sbin/docker-init"

// InitName is the init binary's file name, looked up next to the executable.
const InitName = "compose-init"

// defaultShmSize is Docker's /dev/shm size.
const defaultShmSize = 64 << 20

// applyOptions shapes the OCI spec with the container's Options. A shareable
// /dev/shm is mounted on the host, under the container's Dir.
func applyOptions(spec *specs.Spec, s *Spec) error {
	o := &s.Options
	spec.Domainname = o.Domainname
	if o.Umask != nil {
		spec.Process.User.Umask = o.Umask
	}
	spec.Root.Readonly = o.ReadOnly
	spec.Process.NoNewPrivileges = o.NoNewPrivileges
	spec.Process.OOMScoreAdj = o.OOMScoreAdj

	if o.Init {
		path, err := initPath(o.InitPath)
		if err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: InitDest, Type: "bind", Source: path, Options: []string{"rbind", "rprivate", "ro"}})
	}
	for _, t := range o.Tmpfs {
		if !filepath.IsAbs(t.Destination) {
			return fmt.Errorf("tmpfs %q: path must be absolute: %w", t.Destination, errdefs.ErrInvalidArgument)
		}
		// Docker's defaults; later options (exec, suid, dev) override them.
		opts := append([]string{"nosuid", "nodev", "noexec"}, t.Options...)
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: t.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts})
	}
	if err := applyNamespaces(spec, s); err != nil {
		return err
	}
	if o.CgroupParent != "" {
		parent := filepath.Join("/", o.CgroupParent)
		if parent != filepath.Clean("/"+o.CgroupParent) || strings.Contains(o.CgroupParent, "..") {
			return fmt.Errorf("cgroup_parent %q: %w", o.CgroupParent, errdefs.ErrInvalidArgument)
		}
		spec.Linux.CgroupsPath = filepath.Join(parent, s.ID)
	}
	for k, v := range o.Sysctls {
		spec.Linux.Sysctl[k] = v
	}
	if err := applySecurity(spec, o); err != nil {
		return err
	}
	applyResources(spec.Linux.Resources, &o.Resources)
	return nil
}

// initPath finds the init binary: the given path, or compose-init next to
// the running executable (the Makefile builds both into bin/).
func initPath(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		path = filepath.Join(filepath.Dir(exe), InitName)
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("init: %s not found (it is built next to the compose binary by `make build`): %w", path, errdefs.ErrFailedPrecondition)
	}
	return path, nil
}

// applyNamespaces sets the pid, ipc, uts and cgroup namespaces and /dev/shm.
func applyNamespaces(spec *specs.Spec, s *Spec) error {
	o := &s.Options
	ns := spec.Linux.Namespaces
	set := func(t specs.LinuxNamespaceType, mode, path, ctr string) error {
		i := slices.IndexFunc(ns, func(n specs.LinuxNamespace) bool { return n.Type == t })
		switch {
		case mode == "host":
			if i >= 0 {
				ns = slices.Delete(ns, i, i+1)
			}
		case ctr != "":
			p, err := containerNamespace(ctr, t)
			if err != nil {
				return err
			}
			path = p
			fallthrough
		case path != "" || mode == "private":
			if i < 0 {
				ns = append(ns, specs.LinuxNamespace{Type: t})
				i = len(ns) - 1
			}
			ns[i].Path = path
		}
		return nil
	}
	if err := set(specs.PIDNamespace, o.PIDMode, o.PIDNamespacePath, o.PIDContainer); err != nil {
		return err
	}
	ipcMode := o.IPCMode
	if ipcMode == "shareable" {
		ipcMode = "private"
	}
	if err := set(specs.IPCNamespace, ipcMode, o.IPCNamespacePath, o.IPCContainer); err != nil {
		return err
	}
	if err := set(specs.UTSNamespace, o.UTSMode, "", ""); err != nil {
		return err
	}
	if o.UTSMode == "host" {
		spec.Hostname, spec.Domainname = "", "" // the host's own
	}
	if err := set(specs.CgroupNamespace, o.CgroupnsMode, "", ""); err != nil {
		return err
	}
	spec.Linux.Namespaces = ns
	return applyShm(spec, s)
}

// containerNamespace is the namespace file of the running container whose
// Dir is dir.
func containerNamespace(dir string, t specs.LinuxNamespaceType) (string, error) {
	st, err := ReadState(dir)
	if err != nil || st.Status != StatusRunning || st.Pid <= 0 {
		name := filepath.Base(dir)
		if sp, err := ReadSpec(dir); err == nil {
			name = sp.DisplayName()
		}
		return "", fmt.Errorf("cannot join the %s namespace of container %s: it is not running: %w", t, name, errdefs.ErrFailedPrecondition)
	}
	file := map[specs.LinuxNamespaceType]string{specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc"}[t]
	return "/proc/" + strconv.Itoa(st.Pid) + "/ns/" + file, nil
}

// applySecurity sets capabilities, devices, masked paths and seccomp.
func applySecurity(spec *specs.Spec, o *Options) error {
	caps, err := capabilities(o)
	if err != nil {
		return err
	}
	spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}

	res := spec.Linux.Resources
	if o.Privileged {
		devs, err := hostDevices("/dev", "/dev")
		if err != nil {
			return fmt.Errorf("privileged: host devices: %w", err)
		}
		spec.Linux.Devices = append(spec.Linux.Devices, devs...)
		res.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		for i, m := range spec.Mounts {
			if m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup" {
				spec.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(s string) bool { return s == "ro" })
			}
		}
	}
	for _, d := range o.Devices {
		nodes, rules, err := containerDevices(d)
		if err != nil {
			return err
		}
		spec.Linux.Devices = append(spec.Linux.Devices, nodes...)
		res.Devices = append(res.Devices, rules...)
	}
	for _, r := range o.DeviceCgroupRules {
		rule, err := ParseDeviceCgroupRule(r)
		if err != nil {
			return err
		}
		res.Devices = append(res.Devices, rule)
	}
	if o.Privileged || o.UnmaskPaths {
		spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
	}
	spec.Linux.Seccomp, err = seccompFor(o, caps)
	return err
}

// applyResources sets the cgroup limits, in Docker's semantics (libcontainer
// converts memory+swap and shares for cgroup v2).
func applyResources(res *specs.LinuxResources, r *Resources) {
	mem := &specs.LinuxMemory{}
	if r.Memory > 0 {
		mem.Limit = &r.Memory
	}
	if r.MemorySwap != 0 {
		mem.Swap = &r.MemorySwap
	}
	if r.MemoryReservation > 0 {
		mem.Reservation = &r.MemoryReservation
	}
	mem.Swappiness = r.MemorySwappiness
	if r.OOMKillDisable {
		mem.DisableOOMKiller = &r.OOMKillDisable
	}
	res.Memory = mem

	cpu := &specs.LinuxCPU{Cpus: r.CpusetCpus, Mems: r.CpusetMems}
	if r.CPUShares > 0 {
		cpu.Shares = &r.CPUShares
	}
	if r.CPUPeriod > 0 {
		cpu.Period = &r.CPUPeriod
	}
	if r.CPUQuota > 0 {
		cpu.Quota = &r.CPUQuota
	}
	if r.NanoCPUs > 0 {
		// Docker's --cpus: a quota over a 100ms period.
		period := uint64(100000)
		quota := r.NanoCPUs * int64(period) / 1e9
		cpu.Period, cpu.Quota = &period, &quota
	}
	res.CPU = cpu

	if r.PidsLimit != 0 {
		limit := r.PidsLimit
		if limit < 0 {
			limit = -1 // "max"
		}
		res.Pids = &specs.LinuxPids{Limit: &limit}
	}
}

// CgroupV2 reports whether the host uses the unified cgroup hierarchy.
func CgroupV2() bool { return cgroups.IsCgroup2UnifiedMode() }

// SwapLimitSupported reports whether the kernel accounts swap in cgroups,
// so that memswap_limit can be honoured.
func SwapLimitSupported() bool {
	if CgroupV2() {
		m, _ := filepath.Glob("/sys/fs/cgroup/*/memory.swap.max")
		return len(m) > 0
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// processArgs is the container's argv, behind the init when it has one.
func processArgs(s *Spec) []string {
	if !s.Options.Init {
		return s.Args
	}
	return append([]string{InitDest, "--"}, s.Args...)
}
