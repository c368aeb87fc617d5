// Package runspec describes one container to run: its command, root
// filesystem, mounts, network namespace, options, restart policy,
// healthcheck and logging. The engine fills it in (from a compose service
// and an image) and the runtime (engine/container) runs it; this package
// holds only the description, so the code that builds one never depends
// on the runtime.
package runspec

import "github.com/composer-dev/compose/engine/container/supervisor"

// Spec is everything needed to run one container. It is saved as Dir/spec.json.
type Spec struct {
	ID       string            // 64 hex chars, Docker-like
	Name     string            // e.g. "myproj-web-1", for messages
	Dir      string            // per-container persistent dir, owned by the caller; must exist
	Args     []string          // final argv
	Env      []string          // NAME=VALUE
	Cwd      string            // "" = "/"
	User     string            // "", "uid", "uid:gid", "name", "name:group"
	Hostname string            // "" = the first 12 chars of ID, like Docker
	Lower    []string          // image layer dirs, bottom first
	NetNS    string            // netns path to join; "" = a fresh netns with only lo; HostNetNS = the host's
	Mounts   []Mount           // extra bind mounts (files or dirs)
	Labels   map[string]string // informational
	// Annotations are the OCI annotations of the container's runtime spec
	// (the service's `annotations`, as Docker passes them to runc).
	Annotations map[string]string `json:",omitempty"`
	StopSignal  string            // "" = SIGTERM; "SIGUSR1", "USR1" or "10"

	Options Options       // everything else that shapes the container
	Restart RestartPolicy // what the supervisor does when the container exits
	Health  *Healthcheck  // nil = none
	Log     LogOptions    // log file rotation
}

// Mount is a bind mount from the host into the container, or a tmpfs.
type Mount struct {
	Source      string // host path; unused for a tmpfs
	Destination string
	ReadOnly    bool
	// Type is "" or "bind" for a bind mount, "tmpfs" for a fresh tmpfs.
	Type string `json:",omitempty"`
	// Propagation is a bind's mount propagation ("rprivate" when empty):
	// private, rprivate, shared, rshared, slave or rslave.
	Propagation string `json:",omitempty"`
	// Options are extra mount(8) options, e.g. "size=1048576", "mode=1777"
	// for a tmpfs.
	Options []string `json:",omitempty"`
}

// DisplayName is how the container is called in messages: its name, or
// the start of its ID.
func (s *Spec) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	if len(s.ID) > 12 {
		return s.ID[:12]
	}
	return s.ID
}

// The restart policy, healthcheck and logging the supervisor applies.
type (
	RestartPolicy = supervisor.RestartPolicy
	Healthcheck   = supervisor.Healthcheck
	LogOptions    = supervisor.LogOptions
)

// The restart policy names and log drivers the supervisor knows.
const (
	RestartNo            = supervisor.RestartNo
	RestartAlways        = supervisor.RestartAlways
	RestartOnFailure     = supervisor.RestartOnFailure
	RestartUnlessStopped = supervisor.RestartUnlessStopped
	LogJSONFile          = supervisor.LogJSONFile
	LogNone              = supervisor.LogNone
)

// SeccompUnconfined as Options.Seccomp runs the container without seccomp.
const SeccompUnconfined = "unconfined"

// HostNetNS as Spec.NetNS runs the container in the host's network
// namespace (network_mode: host).
const HostNetNS = "host"

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
