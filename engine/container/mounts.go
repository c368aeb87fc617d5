package container

import (
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ociMount turns a Mount into the OCI mount runc performs. runc resolves the
// destination inside the root filesystem (securejoin), so a symlink in the
// image cannot make the mount land on the host.
func ociMount(m Mount) specs.Mount {
	if m.Type == "tmpfs" {
		opts := []string{"nosuid", "nodev"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		return specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: append(opts, m.Options...)}
	}
	prop := m.Propagation
	if prop == "" {
		prop = "rprivate"
	}
	opts := []string{"rbind", prop}
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: append(opts, m.Options...)}
}

// rootPropagation is the root's propagation that lets every mount's own
// propagation work: rshared for a shared bind, rslave for a slave one, ""
// (runc's default) otherwise.
func rootPropagation(mounts []Mount) string {
	out := ""
	for _, m := range mounts {
		switch {
		case strings.HasSuffix(m.Propagation, "shared"):
			return "rshared"
		case strings.HasSuffix(m.Propagation, "slave"):
			out = "rslave"
		}
	}
	return out
}
