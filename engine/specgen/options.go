package specgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// containerOptions maps a service's options onto the runtime's. Options the
// engine cannot honour are an error naming the option; options it honours
// only in part come back as one-line warnings for the user.
func containerOptions(svc types.ServiceConfig, in Input) (runspec.Options, []string, error) {
	m := &optionsMapper{svc: svc, in: in}
	o := runspec.Options{
		Tty:          svc.Tty,
		OpenStdin:    svc.StdinOpen,
		Domainname:   svc.DomainName,
		GroupAdd:     svc.GroupAdd,
		Umask:        svc.Umask,
		Init:         svc.Init != nil && *svc.Init,
		ReadOnly:     svc.ReadOnly,
		ShmSize:      int64(svc.ShmSize),
		Privileged:   svc.Privileged,
		CapAdd:       svc.CapAdd,
		CapDrop:      svc.CapDrop,
		CgroupParent: svc.CgroupParent,
	}
	for _, step := range []func(*runspec.Options) error{
		m.checkUnsupported, m.platform, m.groups, m.tmpfs, m.caps, m.devices,
		m.sysctls, m.ulimits, m.resources, m.oomScoreAdj, m.securityOpts, m.namespaces,
	} {
		if err := step(&o); err != nil {
			return o, m.warnings, fmt.Errorf("service %q: %w", svc.Name, err)
		}
	}
	return o, m.warnings, nil
}

// optionsMapper collects warnings while the options are mapped.
type optionsMapper struct {
	svc      types.ServiceConfig
	in       Input
	warnings []string
}

func (m *optionsMapper) warn(format string, args ...any) {
	m.warnings = append(m.warnings, fmt.Sprintf("service %q: ", m.svc.Name)+fmt.Sprintf(format, args...))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
}

// checkUnsupported refuses the options this engine cannot honour at all and
// warns about those it ignores.
func (m *optionsMapper) checkUnsupported(*runspec.Options) error {
	s := m.svc
	if s.Runtime != "" && s.Runtime != "runc" {
		return invalid("runtime %q is not supported: containers run with the embedded runc (libcontainer) only", s.Runtime)
	}
	if s.Isolation != "" && s.Isolation != "default" {
		return invalid("isolation %q is not supported on Linux", s.Isolation)
	}
	if s.UserNSMode != "" && s.UserNSMode != "host" {
		return invalid("userns_mode %q is not supported", s.UserNSMode)
	}
	if len(s.StorageOpt) > 0 {
		return invalid("storage_opt is not supported by the overlay storage of this engine")
	}
	if len(s.Gpus) > 0 {
		return invalid("gpus are not supported")
	}
	if s.Deploy != nil && s.Deploy.Resources.Reservations != nil && len(s.Deploy.Resources.Reservations.Devices) > 0 {
		return invalid("deploy.resources.reservations.devices (GPUs) are not supported")
	}
	if s.CredentialSpec != nil {
		m.warn("credential_spec is ignored: it applies to Windows containers only")
	}
	if s.CPUCount != 0 || s.CPUPercent != 0 {
		m.warn("cpu_count and cpu_percent are ignored: they apply to Windows containers only; use cpus")
	}
	if s.CPURTPeriod != 0 || s.CPURTRuntime != 0 {
		m.warn("cpu_rt_period and cpu_rt_runtime are ignored: real-time scheduling limits are not supported")
	}
	if s.BlkioConfig != nil {
		m.warn("blkio_config is ignored: block I/O limits are not supported yet")
	}
	return nil
}

// platform refuses a platform other than this host's: images run natively.
func (m *optionsMapper) platform(*runspec.Options) error {
	p := m.svc.Platform
	if p == "" {
		return nil
	}
	parts := strings.Split(strings.ToLower(p), "/")
	host := runtime.GOOS + "/" + runtime.GOARCH
	arch := ""
	if len(parts) >= 2 {
		arch = normArch(parts[1])
	}
	// 32-bit x86 binaries run natively on amd64.
	ok := len(parts) >= 2 && parts[0] == runtime.GOOS && (arch == runtime.GOARCH || arch == "386" && runtime.GOARCH == "amd64")
	if !ok {
		return invalid("platform %q is not this host's (%s): images run natively, without emulation", p, host)
	}
	return nil
}

func normArch(a string) string {
	switch a {
	case "x86_64", "x86-64":
		return "amd64"
	case "i386", "i686":
		return "386"
	case "aarch64":
		return "arm64"
	}
	return a
}

func (m *optionsMapper) groups(o *runspec.Options) error {
	for _, g := range o.GroupAdd {
		if strings.TrimSpace(g) == "" || strings.ContainsAny(g, ":\n") {
			return invalid("group_add %q: want a group name or gid", g)
		}
	}
	return nil
}

// tmpfs reads `tmpfs: [/path[:options]]`, with sizes in Docker's units.
func (m *optionsMapper) tmpfs(o *runspec.Options) error {
	for _, entry := range m.svc.Tmpfs {
		dest, opts, _ := strings.Cut(entry, ":")
		if !filepath.IsAbs(dest) {
			return invalid("tmpfs %q: the path must be absolute", entry)
		}
		t := runspec.Tmpfs{Destination: filepath.Clean(dest)}
		if opts != "" {
			for _, opt := range strings.Split(opts, ",") {
				norm, err := tmpfsOption(opt)
				if err != nil {
					return fmt.Errorf("tmpfs %q: %w", entry, err)
				}
				t.Options = append(t.Options, norm)
			}
		}
		o.Tmpfs = append(o.Tmpfs, t)
	}
	return nil
}

// tmpfsFlags are the mount flags a tmpfs option may be.
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true,
	"dev": true, "nodev": true, "atime": true, "noatime": true, "diratime": true, "nodiratime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true, "sync": true, "async": true,
}

func tmpfsOption(opt string) (string, error) {
	key, val, hasVal := strings.Cut(strings.TrimSpace(opt), "=")
	if !hasVal {
		if tmpfsFlags[key] {
			return key, nil
		}
		return "", invalid("unknown option %q", opt)
	}
	switch key {
	case "size":
		if strings.HasSuffix(val, "%") {
			return opt, nil
		}
		n, err := units.RAMInBytes(val)
		if err != nil || n <= 0 {
			return "", invalid("size %q: want a size such as 64m", val)
		}
		return "size=" + strconv.FormatInt(n, 10), nil
	case "mode":
		if _, err := strconv.ParseUint(val, 8, 32); err != nil {
			return "", invalid("mode %q: want octal permissions such as 1777", val)
		}
	case "uid", "gid", "nr_inodes", "nr_blocks":
		if _, err := strconv.ParseUint(val, 10, 64); err != nil {
			return "", invalid("%s %q: want a number", key, val)
		}
	case "mpol", "huge":
	default:
		return "", invalid("unknown option %q", opt)
	}
	return key + "=" + val, nil
}

func (m *optionsMapper) caps(o *runspec.Options) error {
	for _, list := range [][]string{o.CapAdd, o.CapDrop} {
		for _, c := range list {
			if err := m.in.Runtime.CheckCapability(c); err != nil {
				return err
			}
		}
	}
	if o.Privileged && (len(o.CapAdd) > 0 || len(o.CapDrop) > 0) {
		m.warn("cap_add and cap_drop are ignored: privileged containers have every capability")
	}
	return nil
}

func (m *optionsMapper) devices(o *runspec.Options) error {
	for _, d := range m.svc.Devices {
		if _, err := os.Stat(d.Source); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("devices: %s does not exist on this host: %w", d.Source, errdefs.ErrNotFound)
			}
			return fmt.Errorf("devices: %w", err)
		}
		o.Devices = append(o.Devices, runspec.Device{Source: d.Source, Target: d.Target, Permissions: d.Permissions})
	}
	for _, r := range m.svc.DeviceCgroupRules {
		if err := m.in.Runtime.CheckDeviceCgroupRule(r); err != nil {
			return err
		}
	}
	o.DeviceCgroupRules = m.svc.DeviceCgroupRules
	return nil
}

// IPC sysctls are namespaced with the IPC namespace.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// sysctls accepts only namespaced sysctls, like Docker: the others would
// change the host.
func (m *optionsMapper) sysctls(o *runspec.Options) error {
	if len(m.svc.Sysctls) == 0 {
		return nil
	}
	o.Sysctls = map[string]string{}
	keys := make([]string, 0, len(m.svc.Sysctls))
	for k := range m.svc.Sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case ipcSysctls[k] || strings.HasPrefix(k, "fs.mqueue."):
			if m.svc.Ipc == "host" {
				return invalid("sysctl %q cannot be set with ipc: host: it would change the host", k)
			}
		case strings.HasPrefix(k, "net."):
			if m.svc.NetworkMode == "host" {
				return invalid("sysctl %q cannot be set with network_mode: host: it would change the host", k)
			}
		default:
			return invalid("sysctl %q is not namespaced: setting it would change the host", k)
		}
		o.Sysctls[k] = m.svc.Sysctls[k]
	}
	return nil
}

// ulimits maps `ulimits:` and says so when a hard limit goes above what this
// host gives its processes (root may raise it; Docker's daemon does too).
func (m *optionsMapper) ulimits(o *runspec.Options) error {
	names := make([]string, 0, len(m.svc.Ulimits))
	for n := range m.svc.Ulimits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := m.svc.Ulimits[name]
		if c == nil {
			continue
		}
		u := runspec.Ulimit{Name: name, Soft: int64(c.Soft), Hard: int64(c.Hard)}
		if c.Single != 0 {
			u.Soft, u.Hard = int64(c.Single), int64(c.Single)
		}
		if err := m.in.Runtime.CheckUlimit(u); err != nil {
			return err
		}
		if host, ok := m.in.Runtime.HardLimit(name); ok && rlim(u.Hard) > host {
			m.warn("ulimits %s: hard limit %d is above this host's %d; the container gets it because the engine runs as root", name, u.Hard, host)
		}
		o.Ulimits = append(o.Ulimits, u)
	}
	return nil
}

func rlim(v int64) uint64 {
	if v < 0 {
		return ^uint64(0)
	}
	return uint64(v)
}

func (m *optionsMapper) oomScoreAdj(o *runspec.Options) error {
	v := m.svc.OomScoreAdj
	if v < -1000 || v > 1000 {
		return invalid("oom_score_adj %d: must be between -1000 and 1000", v)
	}
	if v != 0 {
		n := int(v)
		o.OOMScoreAdj = &n
	}
	return nil
}
