package container

import (
	"path/filepath"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultCaps is Docker's default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Docker's default masked and read-only paths.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// cgroupPath is where the container's cgroup goes, under each hierarchy's root.
func cgroupPath(id string) string { return "/compose/" + id }

// ociSpec describes the container like Docker's default OCI spec does.
func ociSpec(s *Spec, rootfs string) *specs.Spec {
	nosec := []string{"nosuid", "noexec", "nodev"}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: nosec},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: nosec},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
	}
	for _, m := range s.Mounts {
		mounts = append(mounts, ociMount(m))
	}

	ns := []specs.LinuxNamespace{
		{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
		{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: s.NetNS},
	}
	// Host networking: no network namespace, and no net.* sysctls (they
	// would change the host; libcontainer refuses them there anyway).
	netSysctls := map[string]string{
		"net.ipv4.ip_unprivileged_port_start": "0",
		"net.ipv4.ping_group_range":           "0 2147483647",
	}
	if s.NetNS == HostNetNS {
		ns = ns[:len(ns)-1]
		netSysctls = map[string]string{}
	}
	if cgroups.IsCgroup2UnifiedMode() {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}

	masked := append([]string(nil), maskedPaths...)
	// Newer Docker also masks the per-CPU thermal_throttle dirs.
	if m, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle"); len(m) > 0 {
		masked = append(masked, m...)
	}

	spec := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: rootfs},
		Hostname: s.Hostname,
		Process: &specs.Process{
			Args: s.Args,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: defaultCaps, Effective: defaultCaps, Permitted: defaultCaps,
			},
		},
		Mounts:      mounts,
		Annotations: s.Annotations,
		Linux: &specs.Linux{
			CgroupsPath: cgroupPath(s.ID),
			Namespaces:  ns,
			// Docker lets unprivileged users bind low ports and ping.
			Sysctl:        netSysctls,
			MaskedPaths:   masked,
			ReadonlyPaths: readonlyPaths,
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
	// Shared or slave binds only propagate when the root allows it, so the
	// root gets the widest propagation asked for, as Docker sets it.
	spec.Linux.RootfsPropagation = rootPropagation(s.Mounts)
	return spec
}

// libcontainerConfig converts the spec with runc's own converter, which adds
// the default devices and device cgroup rules (null, zero, full, random,
// urandom, tty, ptmx, pts) the way runc and Docker do.
func libcontainerConfig(s *Spec, rootfs string) (*configs.Config, error) {
	spec := ociSpec(s, rootfs)
	if err := applyOptions(spec, s); err != nil {
		return nil, err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: s.ID,
		Spec:       spec,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Rlimits, err = configRlimits(s.Options.Ulimits); err != nil {
		return nil, err
	}
	for k, v := range s.Labels {
		cfg.Labels = append(cfg.Labels, k+"="+v)
	}
	// The supervisor is the only reader of the container's stdio: without
	// it the container can only die of SIGPIPE, so it dies with it.
	cfg.ParentDeathSignal = int(unix.SIGKILL)
	return cfg, nil
}

// processEnv adds what Docker always sets: PATH when missing, and HOSTNAME.
func processEnv(env []string, hostname string) []string {
	out := make([]string, 0, len(env)+2)
	hasPath := false
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			hasPath = true
		}
	}
	if !hasPath {
		out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	out = append(out, "HOSTNAME="+hostname)
	return append(out, env...)
}
