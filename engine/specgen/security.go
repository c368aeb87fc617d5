package specgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// securityOpts maps `security_opt` entries (KEY=VALUE, or Docker's older
// KEY:VALUE): no-new-privileges, seccomp, apparmor, label, systempaths.
func (m *optionsMapper) securityOpts(o *runspec.Options) error {
	for _, opt := range m.svc.SecurityOpt {
		key, val, ok := strings.Cut(opt, "=")
		if !ok {
			key, val, ok = strings.Cut(opt, ":")
		}
		switch key {
		case "no-new-privileges":
			switch {
			case !ok || val == "true":
				o.NoNewPrivileges = true
			case val == "false":
				o.NoNewPrivileges = false
			default:
				return invalid("security_opt %q: want no-new-privileges, no-new-privileges=true or =false", opt)
			}
		case "seccomp":
			if err := m.seccomp(o, val); err != nil {
				return err
			}
		case "apparmor":
			if val != "unconfined" {
				m.warn("security_opt %q is ignored: this engine does not apply AppArmor profiles", opt)
			}
		case "label":
			m.warn("security_opt %q is ignored: this engine does not apply SELinux labels", opt)
		case "systempaths":
			if val != "unconfined" {
				return invalid("security_opt %q: only systempaths=unconfined is supported", opt)
			}
			o.UnmaskPaths = true
		default:
			return invalid("security_opt %q: unknown option (want no-new-privileges, seccomp, apparmor, label or systempaths)", opt)
		}
	}
	return nil
}

// seccomp reads seccomp=unconfined|builtin|<profile.json>; a profile path is
// relative to the project directory, as in Docker Compose.
func (m *optionsMapper) seccomp(o *runspec.Options, val string) error {
	switch val {
	case "":
		return invalid("security_opt seccomp: want seccomp=unconfined or seccomp=<profile.json>")
	case "unconfined":
		o.Seccomp = runspec.SeccompUnconfined
		return nil
	case "builtin", "default":
		o.Seccomp = ""
		return nil
	}
	path := val
	if !filepath.IsAbs(path) {
		path = filepath.Join(m.in.ProjectDir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("security_opt seccomp: profile %s not found: %w", path, errdefs.ErrNotFound)
		}
		return fmt.Errorf("security_opt seccomp: %w", err)
	}
	if err := m.in.Runtime.CheckSeccompProfile(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	o.Seccomp = string(data)
	if o.Privileged {
		m.warn("security_opt seccomp is ignored: privileged containers run without seccomp")
	}
	return nil
}

// namespaces maps pid, ipc, uts and cgroup. service:x and container:x name
// another container whose namespace this one joins; it must be running
// when this one starts (depends_on order makes sure of that for services).
func (m *optionsMapper) namespaces(o *runspec.Options) error {
	s := m.svc
	switch {
	case s.Pid == "" || s.Pid == "host":
		o.PIDMode = s.Pid
	case isContainerRef(s.Pid):
		peer, err := m.peer(s.Pid)
		if err != nil {
			return fmt.Errorf("pid: %w", err)
		}
		o.PIDContainer = peer.Dir
	default:
		return invalid("pid %q: want host, service:NAME or container:NAME", s.Pid)
	}
	switch {
	case s.Ipc == "" || s.Ipc == "private" || s.Ipc == "shareable" || s.Ipc == "host" || s.Ipc == "none":
		o.IPCMode = s.Ipc
	case isContainerRef(s.Ipc):
		peer, err := m.peer(s.Ipc)
		if err != nil {
			return fmt.Errorf("ipc: %w", err)
		}
		o.IPCContainer = peer.Dir
		if peer.Options != nil && peer.Options.IPCMode != "shareable" {
			m.warn("ipc %s: its /dev/shm is not shared (only its IPC namespace) unless it sets ipc: shareable", s.Ipc)
		}
	default:
		return invalid("ipc %q: want private, shareable, host, none, service:NAME or container:NAME", s.Ipc)
	}
	if s.ShmSize != 0 && (o.IPCMode == "host" || o.IPCContainer != "" || o.IPCMode == "none") {
		m.warn("shm_size is ignored: /dev/shm is not this container's own with ipc: %s", s.Ipc)
	}
	if s.Uts != "" && s.Uts != "host" {
		return invalid("uts %q: only host is supported", s.Uts)
	}
	o.UTSMode = s.Uts
	if s.Uts == "host" && (s.Hostname != "" || s.DomainName != "") {
		return invalid("hostname and domainname cannot be set with uts: host")
	}
	if s.Cgroup != "" && s.Cgroup != "host" && s.Cgroup != "private" {
		return invalid("cgroup %q: want host or private", s.Cgroup)
	}
	o.CgroupnsMode = s.Cgroup
	return nil
}

func isContainerRef(v string) bool {
	return strings.HasPrefix(v, "service:") || strings.HasPrefix(v, "container:")
}

// peer finds the container a service:NAME or container:NAME reference names.
func (m *optionsMapper) peer(ref string) (Peer, error) {
	if m.in.FindPeer == nil {
		kind, name, _ := strings.Cut(ref, ":")
		return Peer{}, fmt.Errorf("%s %q has no container: %w", kind, name, errdefs.ErrNotFound)
	}
	return m.in.FindPeer(ref)
}
