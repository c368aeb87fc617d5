package container

// The device cgroup manager (v1, and v2 through eBPF), without which
// libcontainer refuses to apply device rules. It needs github.com/cilium/ebpf
// in go.mod; once it is there, this becomes the only implementation.
import _ "github.com/opencontainers/cgroups/devices"
