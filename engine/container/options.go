package container

// Options are the service options that shape a container beyond its command
// line: resources, security, devices, namespaces, tty. The zero value is
// Docker's default.
type Options struct {
	Tty       bool // allocate a pseudo-terminal for the container's init (the supervisor holds the master)
	OpenStdin bool // keep stdin open; the supervisor forwards what attached clients write

	Domainname string
	// GroupAdd are extra groups of the process: names (looked up in the
	// image's /etc/group) or numeric gids.
	GroupAdd []string
	Umask    *uint32

	// Init runs a minimal init (compose-init) as PID 1 that reaps zombies and
	// forwards signals to the command. InitPath is that binary on the host;
	// "" means compose-init next to the running executable.
	Init     bool
	InitPath string

	ReadOnly bool    // read-only root filesystem
	Tmpfs    []Tmpfs // extra tmpfs mounts
	ShmSize  int64   // bytes of /dev/shm; 0 = 64 MiB

	// Privileged gives all capabilities and host devices, and drops masked
	// paths, seccomp and the read-only /sys.
	Privileged        bool
	CapAdd            []string // "NET_ADMIN", "CAP_NET_ADMIN" or "ALL"
	CapDrop           []string
	Devices           []Device
	DeviceCgroupRules []string          // "c 1:3 mr", "a *:* rwm"
	Sysctls           map[string]string // namespaced sysctls only
	Ulimits           []Ulimit
	NoNewPrivileges   bool
	// Seccomp is "" for the default profile, "unconfined", or the content of
	// a profile in Docker's JSON format.
	Seccomp string
	// UnmaskPaths drops the masked and read-only /proc and /sys paths
	// (security_opt systempaths=unconfined).
	UnmaskPaths bool
	OOMScoreAdj *int

	Resources Resources

	// Namespaces. A mode is "" (the container's own) or "host"; IPCMode may
	// also be "private" or "shareable" (its /dev/shm can be joined). A
	// ...NamespacePath joins that namespace file; a ...Container joins the
	// namespace of the running container whose Spec.Dir it names.
	PIDMode          string
	PIDNamespacePath string
	PIDContainer     string
	IPCMode          string
	IPCNamespacePath string
	IPCContainer     string
	UTSMode          string // "" or "host"
	CgroupnsMode     string // "" (private on cgroup v2, host on v1), "private" or "host"

	// CgroupParent is the cgroup under which the container's goes
	// ("" = /compose).
	CgroupParent string
}

// Tmpfs is a tmpfs mount: Options are mount(8) options such as
// "size=64m", "mode=1777", "uid=1000", "noexec".
type Tmpfs struct {
	Destination string
	Options     []string
}

// Device maps a host device node (or every device under a host directory)
// into the container. Permissions are a subset of "rwm" ("" = "rwm").
type Device struct {
	Source      string
	Target      string // "" = Source
	Permissions string
}

// Ulimit is a resource limit, named like Docker's ("nofile", "nproc",
// "core", ...). -1 is unlimited.
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// Resources are cgroup limits, in Docker's units and semantics (MemorySwap is
// memory plus swap, -1 unlimited; libcontainer converts for cgroup v2). Zero
// values leave the limit unset.
type Resources struct {
	Memory            int64 // bytes
	MemorySwap        int64 // bytes of memory+swap; -1 = unlimited swap
	MemoryReservation int64 // bytes
	MemorySwappiness  *uint64
	OOMKillDisable    bool
	NanoCPUs          int64 // CPUs * 1e9
	CPUShares         uint64
	CPUQuota          int64 // µs per period
	CPUPeriod         uint64
	CpusetCpus        string
	CpusetMems        string
	PidsLimit         int64 // -1 = unlimited
}
