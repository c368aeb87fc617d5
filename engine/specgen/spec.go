// Package specgen translates a compose service and its image's config into
// the description of the container to run (runspec.Spec), with Docker's
// defaults, checks and one-line errors: command line, environment, options,
// restart policy, healthcheck, logging, published ports, extra hosts and
// network options. It reads the files a service names (a seccomp profile, a
// device node) but no engine state: what it needs from the engine and the
// runtime comes in through Input.
package specgen

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// Input is what the translation needs besides the service and the image:
// the new container's identity and the seams to the engine and the runtime.
type Input struct {
	ID     string // 64 hex characters; the first 12 are the default hostname
	Name   string
	Dir    string // the container's directory, whose /etc files are bind-mounted
	Labels map[string]string
	Layers []string // the image's layer directories, bottom first

	// ProjectDir is where relative paths (seccomp profiles) start.
	ProjectDir string
	// FindPeer finds the container that a pid: or ipc: reference
	// ("service:NAME" or "container:NAME") names; nil finds none.
	FindPeer func(ref string) (Peer, error)
	// Runtime checks what the runtime would refuse; required.
	Runtime Runtime
}

// Peer is another container whose namespace this one joins.
type Peer struct {
	Dir string // its directory: what runspec.Options.PIDContainer and IPCContainer name
	// Options are those it was started with; nil when it never started.
	Options *runspec.Options
}

// Runtime is what the translation asks of the runtime that will run the
// spec (engine/container, which this package does not import): its own
// checks, so that a value it would refuse fails before anything is created,
// and the facts of this host that change what Docker allows.
type Runtime interface {
	CheckCapability(name string) error // a capability this kernel knows, or ALL
	CheckDeviceCgroupRule(rule string) error
	CheckUlimit(u runspec.Ulimit) error
	CheckSeccompProfile(profile []byte) error
	// HardLimit is this process's hard limit for a ulimit name: what a
	// container would inherit.
	HardLimit(ulimit string) (uint64, bool)
	CgroupV2() bool
	SwapLimitSupported() bool // the kernel accounts swap in cgroups
}

// defaultPath is what Docker puts in PATH when the image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// etcFiles are the per-container /etc files Docker bind-mounts, written
// into the container's directory by the engine.
var etcFiles = []string{"hostname", "hosts", "resolv.conf"}

// Build translates a service and its image's config into the container's
// run spec. Options the engine honours only in part come back as one-line
// warnings naming the service, also along with an error; an option it
// cannot honour is an error naming the option.
func Build(svc types.ServiceConfig, img v1.Config, in Input) (runspec.Spec, []string, error) {
	args, err := commandLine(svc, img)
	if err != nil {
		return runspec.Spec{}, nil, err
	}
	hostname := svc.Hostname
	if hostname == "" {
		hostname = in.ID[:min(12, len(in.ID))]
	}
	spec := runspec.Spec{
		ID:         in.ID,
		Name:       in.Name,
		Dir:        in.Dir,
		Args:       args,
		Env:        environment(svc, img, hostname),
		Cwd:        orImage(svc.WorkingDir, img.WorkingDir),
		User:       orImage(svc.User, img.User),
		Hostname:   hostname,
		Lower:      in.Layers,
		Labels:     in.Labels,
		StopSignal: orImage(svc.StopSignal, img.StopSignal),
	}
	if len(svc.Annotations) > 0 {
		spec.Annotations = map[string]string(svc.Annotations)
	}
	var warnings []string
	if spec.Options, warnings, err = containerOptions(svc, in); err != nil {
		return spec, warnings, err
	}
	if spec.Restart, spec.Health, spec.Log, err = supervisorPolicy(svc, img); err != nil {
		return spec, warnings, err
	}
	for _, name := range etcFiles {
		spec.Mounts = append(spec.Mounts, runspec.Mount{Source: filepath.Join(in.Dir, name), Destination: "/etc/" + name})
	}
	return spec, warnings, nil
}

// orImage is the service's value, or the image's when the service sets none.
func orImage(service, image string) string {
	if service != "" {
		return service
	}
	return image
}

// commandLine merges the image's Entrypoint/Cmd with the service's overrides
// the way Docker's daemon does (moby daemon/commit.go merge): an empty
// entrypoint or command counts as unset, except that an entrypoint set to
// empty (`entrypoint: ""` or `[]`) still removes the image's; the image's
// Cmd is dropped once an entrypoint is given.
func commandLine(svc types.ServiceConfig, img v1.Config) ([]string, error) {
	entrypoint, cmd := svc.Entrypoint, svc.Command
	if len(entrypoint) == 0 {
		if len(cmd) == 0 {
			cmd = img.Cmd
		}
		if entrypoint == nil {
			entrypoint = img.Entrypoint
		}
	}
	args := append(append([]string{}, entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("service %q: no command specified: %w", svc.Name, errdefs.ErrInvalidArgument)
	}
	return args, nil
}

// environment is the image's env overlaid with the service's, plus HOSTNAME and
// a default PATH as Docker adds them. A service variable without a value
// (`environment: [NAME]` with NAME unset where compose runs) removes NAME,
// the image's value too, as Docker's daemon does with an entry lacking "="
// (moby container.ReplaceOrAppendEnvValues).
func environment(svc types.ServiceConfig, img v1.Config, hostname string) []string {
	index := map[string]int{}
	var env []string
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			env[i] = kv
			return
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	set(defaultPath)
	set("HOSTNAME=" + hostname)
	for _, kv := range img.Env {
		set(kv)
	}
	keys := make([]string, 0, len(svc.Environment))
	for k := range svc.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	unset := map[string]bool{}
	for _, k := range keys {
		if v := svc.Environment[k]; v != nil {
			set(k + "=" + *v)
		} else {
			unset[k] = true
		}
	}
	if len(unset) == 0 {
		return env
	}
	kept := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !unset[k] {
			kept = append(kept, kv)
		}
	}
	return kept
}
