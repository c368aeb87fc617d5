package container

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// seccompProfile is a seccomp profile in Docker's JSON format: rules may
// depend on the architecture, the container's capabilities and the kernel
// version, and are resolved into an OCI filter when the container starts.
type seccompProfile struct {
	DefaultAction    specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet  *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures    []specs.Arch             `json:"architectures,omitempty"`
	ArchMap          []seccompArchMap         `json:"archMap,omitempty"`
	ListenerPath     string                   `json:"listenerPath,omitempty"`
	ListenerMetadata string                   `json:"listenerMetadata,omitempty"`
	Flags            []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	Syscalls         []seccompRule            `json:"syscalls,omitempty"`
}

// seccompArchMap lists the sub-architectures that go with a native one.
type seccompArchMap struct {
	Arch      specs.Arch   `json:"architecture"`
	SubArches []specs.Arch `json:"subArchitectures"`
}

type seccompRule struct {
	Name     string                   `json:"name,omitempty"` // older profiles: one name
	Names    []string                 `json:"names,omitempty"`
	Action   specs.LinuxSeccompAction `json:"action"`
	ErrnoRet *uint                    `json:"errnoRet,omitempty"`
	Args     []specs.LinuxSeccompArg  `json:"args,omitempty"`
	Comment  string                   `json:"comment,omitempty"`
	Includes seccompFilter            `json:"includes"`
	Excludes seccompFilter            `json:"excludes"`
}

// seccompFilter selects rules by architecture (Go-style names: "amd64",
// "x86", "arm64", "s390x", ...), capabilities and minimum kernel version.
type seccompFilter struct {
	Arches    []string `json:"arches,omitempty"`
	Caps      []string `json:"caps,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// SeccompUnconfined is the Options.Seccomp value that disables seccomp.
const SeccompUnconfined = runspec.SeccompUnconfined

// ValidateSeccompProfile checks a profile in Docker's JSON format, so that a
// bad file is reported when the container is created, not when it starts.
func ValidateSeccompProfile(data []byte) error {
	p, err := parseSeccompProfile(data)
	if err != nil {
		return err
	}
	_, err = p.resolve(defaultCaps)
	return err
}

func parseSeccompProfile(data []byte) (*seccompProfile, error) {
	var p seccompProfile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("seccomp profile: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if p.DefaultAction == "" {
		return nil, fmt.Errorf("seccomp profile: no defaultAction: %w", errdefs.ErrInvalidArgument)
	}
	return &p, nil
}

// seccompFor returns the filter for the container: nil when privileged or
// unconfined, else its profile (Docker's default when none) resolved for
// the container's bounding capabilities.
func seccompFor(o *Options, caps []string) (*specs.LinuxSeccomp, error) {
	if o.Privileged || o.Seccomp == SeccompUnconfined {
		return nil, nil
	}
	p := &defaultSeccomp
	if o.Seccomp != "" {
		var err error
		if p, err = parseSeccompProfile([]byte(o.Seccomp)); err != nil {
			return nil, err
		}
	}
	return p.resolve(caps)
}

// resolve turns the profile into an OCI filter for this host's architecture,
// the given capabilities and the running kernel, the way Docker does.
func (p *seccompProfile) resolve(caps []string) (*specs.LinuxSeccomp, error) {
	if p.ListenerPath != "" {
		return nil, fmt.Errorf("seccomp profile: listenerPath (user notification) is not supported: %w", errdefs.ErrInvalidArgument)
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return nil, fmt.Errorf("seccomp profile: use either 'architectures' or 'archMap', not both: %w", errdefs.ErrInvalidArgument)
	}
	out := &specs.LinuxSeccomp{
		DefaultAction:   p.DefaultAction,
		DefaultErrnoRet: p.DefaultErrnoRet,
		Architectures:   p.Architectures,
		Flags:           p.Flags,
	}
	arch := nativeArch()
	for _, m := range p.ArchMap {
		if m.Arch == seccompArch[arch] {
			out.Architectures = append(append(out.Architectures, m.Arch), usableSubArches(m.SubArches)...)
		}
	}
	kernel := kernelVersion()
	for _, r := range p.Syscalls {
		if r.Name != "" && len(r.Names) > 0 {
			return nil, fmt.Errorf("seccomp profile: a rule has both 'name' and 'names' (%s): %w", r.Name, errdefs.ErrInvalidArgument)
		}
		ok, err := r.applies(arch, caps, kernel)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		names := r.Names
		if r.Name != "" {
			names = []string{r.Name}
		}
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: names, Action: r.Action, ErrnoRet: r.ErrnoRet, Args: r.Args})
	}
	// libcontainer's own conversion checks actions, operators and
	// architectures; run it now for a clear error.
	if _, err := specconv.SetupSeccomp(out); err != nil {
		return nil, fmt.Errorf("seccomp profile: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return out, nil
}

// applies tells whether the rule's includes and excludes select it.
func (r seccompRule) applies(arch string, caps []string, kernel [2]int) (bool, error) {
	if slices.Contains(r.Excludes.Arches, arch) {
		return false, nil
	}
	for _, c := range r.Excludes.Caps {
		if slices.Contains(caps, c) {
			return false, nil
		}
	}
	if r.Excludes.MinKernel != "" {
		min, err := parseKernel(r.Excludes.MinKernel)
		if err != nil {
			return false, err
		}
		if !kernelBefore(kernel, min) {
			return false, nil
		}
	}
	if len(r.Includes.Arches) > 0 && !slices.Contains(r.Includes.Arches, arch) {
		return false, nil
	}
	for _, c := range r.Includes.Caps {
		if !slices.Contains(caps, c) {
			return false, nil
		}
	}
	if r.Includes.MinKernel != "" {
		min, err := parseKernel(r.Includes.MinKernel)
		if err != nil {
			return false, err
		}
		if kernelBefore(kernel, min) {
			return false, nil
		}
	}
	return true, nil
}

// nativeArch names this machine's architecture as Docker's profiles do.
func nativeArch() string {
	if runtime.GOARCH == "386" {
		return "x86"
	}
	return runtime.GOARCH
}

// seccompArch maps native architectures to libseccomp's names.
var seccompArch = map[string]specs.Arch{
	"x86":      specs.ArchX86,
	"amd64":    specs.ArchX86_64,
	"arm":      specs.ArchARM,
	"arm64":    specs.ArchAARCH64,
	"mips64":   specs.ArchMIPS64,
	"mips64le": specs.ArchMIPSEL64,
	"ppc64":    specs.ArchPPC64,
	"ppc64le":  specs.ArchPPC64LE,
	"riscv64":  specs.ArchRISCV64,
	"s390x":    specs.ArchS390X,
	"loong64":  specs.ArchLOONGARCH64,
}

// kernelVersion is the running kernel's major and minor version.
func kernelVersion() [2]int {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return [2]int{}
	}
	v, _ := parseKernel(unix.ByteSliceToString(u.Release[:]))
	return v
}

// parseKernel reads "major.minor" from a version such as "6.1.0-18-amd64".
func parseKernel(s string) ([2]int, error) {
	parts := strings.SplitN(s, ".", 3)
	var v [2]int
	if len(parts) < 2 {
		return v, fmt.Errorf("seccomp profile: kernel version %q: want major.minor: %w", s, errdefs.ErrInvalidArgument)
	}
	for i := range 2 {
		digits := strings.TrimRightFunc(parts[i], func(r rune) bool { return r < '0' || r > '9' })
		n, err := strconv.Atoi(digits)
		if err != nil {
			return v, fmt.Errorf("seccomp profile: kernel version %q: want major.minor: %w", s, errdefs.ErrInvalidArgument)
		}
		v[i] = n
	}
	return v, nil
}

func kernelBefore(a, b [2]int) bool {
	return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
}

// usableSubArches drops x32 when the kernel cannot run x32 syscalls: its
// rules could never match, and each architecture in the filter adds
// milliseconds to every container start (libseccomp compiles the filter in
// the container's init). Without it an x32 syscall meets the filter's
// bad-architecture action instead of ENOSYS: it fails either way.
func usableSubArches(sub []specs.Arch) []specs.Arch {
	if kernelRunsX32() || !slices.Contains(sub, specs.ArchX32) {
		return sub
	}
	out := make([]specs.Arch, 0, len(sub))
	for _, a := range sub {
		if a != specs.ArchX32 {
			out = append(out, a)
		}
	}
	return out
}
