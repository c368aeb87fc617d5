package container

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/composer-dev/compose/errdefs"
)

func TestCapabilities(t *testing.T) {
	all := grantableCaps()
	tests := []struct {
		name    string
		o       Options
		has     []string
		hasNot  []string
		wantLen int // 0 = don't check
		err     error
	}{
		{"default", Options{}, []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}, []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, len(defaultCaps), nil},
		{"add short name", Options{CapAdd: []string{"net_admin"}}, []string{"CAP_NET_ADMIN", "CAP_CHOWN"}, nil, len(defaultCaps) + 1, nil},
		{"drop", Options{CapDrop: []string{"CAP_CHOWN", "NET_RAW"}}, nil, []string{"CAP_CHOWN", "CAP_NET_RAW"}, len(defaultCaps) - 2, nil},
		{"drop all add one", Options{CapDrop: []string{"ALL"}, CapAdd: []string{"KILL"}}, []string{"CAP_KILL"}, []string{"CAP_CHOWN"}, 1, nil},
		{"drop all", Options{CapDrop: []string{"all"}}, nil, []string{"CAP_CHOWN"}, -1, nil},
		{"add all drop one", Options{CapAdd: []string{"ALL"}, CapDrop: []string{"SYS_ADMIN"}}, []string{"CAP_NET_ADMIN"}, []string{"CAP_SYS_ADMIN"}, len(all) - 1, nil},
		{"privileged ignores drop", Options{Privileged: true, CapDrop: []string{"ALL"}}, []string{"CAP_SYS_ADMIN"}, nil, len(all), nil},
		{"unknown", Options{CapAdd: []string{"FLY"}}, nil, nil, 0, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := capabilities(&tt.o)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			for _, c := range tt.has {
				if !slices.Contains(got, c) {
					t.Errorf("missing %s in %v", c, got)
				}
			}
			for _, c := range tt.hasNot {
				if slices.Contains(got, c) {
					t.Errorf("unexpected %s in %v", c, got)
				}
			}
			if tt.wantLen == -1 && len(got) != 0 || tt.wantLen > 0 && len(got) != tt.wantLen {
				t.Errorf("len = %d, want %d: %v", len(got), tt.wantLen, got)
			}
		})
	}
}

// ruleFor returns the syscall rules that name a syscall.
func rulesFor(sc *specs.LinuxSeccomp, name string) []specs.LinuxSyscall {
	var out []specs.LinuxSyscall
	for _, r := range sc.Syscalls {
		if slices.Contains(r.Names, name) {
			out = append(out, r)
		}
	}
	return out
}

func TestDefaultSeccomp(t *testing.T) {
	sc, err := seccompFor(&Options{}, defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	if sc.DefaultAction != specs.ActErrno || sc.DefaultErrnoRet == nil || *sc.DefaultErrnoRet != 1 {
		t.Errorf("default action %s/%v, want errno EPERM", sc.DefaultAction, sc.DefaultErrnoRet)
	}
	if want := seccompArch[nativeArch()]; want != "" && !slices.Contains(sc.Architectures, want) {
		t.Errorf("architectures %v lack %s", sc.Architectures, want)
	}
	for _, name := range []string{"read", "openat", "execve", "socket", "clone"} {
		if len(rulesFor(sc, name)) == 0 {
			t.Errorf("%s is not allowed", name)
		}
	}
	for _, name := range []string{"mount", "unshare", "setns", "reboot", "init_module", "kexec_load", "open_by_handle_at"} {
		if len(rulesFor(sc, name)) > 0 {
			t.Errorf("%s is allowed without its capability", name)
		}
	}
	clone := rulesFor(sc, "clone")
	if len(clone) != 1 || len(clone[0].Args) != 1 || clone[0].Args[0].Op != specs.OpMaskedEqual {
		t.Errorf("clone should be allowed only without namespace flags: %+v", clone)
	}
	if c3 := rulesFor(sc, "clone3"); len(c3) != 1 || c3[0].Action != specs.ActErrno || *c3[0].ErrnoRet != 38 {
		t.Errorf("clone3 should fail with ENOSYS: %+v", c3)
	}

	admin, err := seccompFor(&Options{}, append(slices.Clone(defaultCaps), "CAP_SYS_ADMIN"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rulesFor(admin, "mount")) == 0 {
		t.Error("mount not allowed with CAP_SYS_ADMIN")
	}
	for _, r := range rulesFor(admin, "clone") {
		if len(r.Args) > 0 {
			t.Errorf("clone restricted despite CAP_SYS_ADMIN: %+v", r)
		}
	}
	if len(rulesFor(admin, "clone3")) != 1 || rulesFor(admin, "clone3")[0].Action != specs.ActAllow {
		t.Errorf("clone3 with CAP_SYS_ADMIN: %+v", rulesFor(admin, "clone3"))
	}
	for _, o := range []Options{{Privileged: true}, {Seccomp: SeccompUnconfined}} {
		if sc, err := seccompFor(&o, defaultCaps); sc != nil || err != nil {
			t.Errorf("%+v: seccomp %v, %v; want none", o, sc, err)
		}
	}
}

func TestSeccompProfiles(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		err     error
		check   func(*specs.LinuxSeccomp) bool
	}{
		{"allow all but mkdir", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`, nil,
			func(s *specs.LinuxSeccomp) bool { return len(s.Syscalls) == 1 && s.DefaultAction == specs.ActAllow }},
		{"old single name", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO"}]}`, nil,
			func(s *specs.LinuxSeccomp) bool { return s.Syscalls[0].Names[0] == "mkdir" }},
		{"includes caps filter", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}}]}`, nil,
			func(s *specs.LinuxSeccomp) bool { return len(s.Syscalls) == 0 }},
		{"excludes arch", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["` + nativeArch() + `"]}}]}`, nil,
			func(s *specs.LinuxSeccomp) bool { return len(s.Syscalls) == 0 }},
		{"old kernel only", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"99.0"}}]}`, nil,
			func(s *specs.LinuxSeccomp) bool { return len(s.Syscalls) == 0 }},
		{"not json", `{defaultAction`, errdefs.ErrInvalidArgument, nil},
		{"no default action", `{"syscalls":[]}`, errdefs.ErrInvalidArgument, nil},
		{"bad action", `{"defaultAction":"SCMP_ACT_MAYBE"}`, errdefs.ErrInvalidArgument, nil},
		{"bad operator", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_SOMETIMES"}]}]}`, errdefs.ErrInvalidArgument, nil},
		{"name and names", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}`, errdefs.ErrInvalidArgument, nil},
		{"architectures and archMap", `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}`, errdefs.ErrInvalidArgument, nil},
		{"listener", `{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/x.sock"}`, errdefs.ErrInvalidArgument, nil},
		{"bad kernel", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"six"}}]}`, errdefs.ErrInvalidArgument, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateSeccompProfile([]byte(tt.profile)); !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ValidateSeccompProfile = %v, want %v", err, tt.err)
			}
			if tt.check == nil {
				return
			}
			sc, err := seccompFor(&Options{Seccomp: tt.profile}, defaultCaps)
			if err != nil || !tt.check(sc) {
				t.Errorf("resolved to %+v, %v", sc, err)
			}
		})
	}
}

func TestParseKernel(t *testing.T) {
	tests := []struct {
		in   string
		want [2]int
		ok   bool
	}{
		{"6.1.0-18-amd64", [2]int{6, 1}, true},
		{"4.8", [2]int{4, 8}, true},
		{"5.10.0+", [2]int{5, 10}, true},
		{"6", [2]int{}, false},
		{"x.y", [2]int{}, false},
	}
	for _, tt := range tests {
		got, err := parseKernel(tt.in)
		if (err == nil) != tt.ok || tt.ok && got != tt.want {
			t.Errorf("parseKernel(%q) = %v, %v", tt.in, got, err)
		}
	}
	if !kernelBefore([2]int{4, 19}, [2]int{5, 0}) || kernelBefore([2]int{5, 0}, [2]int{5, 0}) || kernelBefore([2]int{6, 1}, [2]int{4, 8}) {
		t.Error("kernelBefore")
	}
}

func TestParseDeviceCgroupRule(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	tests := []struct {
		in   string
		want specs.LinuxDeviceCgroup
		ok   bool
	}{
		{"c 1:3 mr", specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(1), Minor: i(3), Access: "mr"}, true},
		{"a *:* rwm", specs.LinuxDeviceCgroup{Allow: true, Type: "a", Access: "rwm"}, true},
		{"b 8:* rw", specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i(8), Access: "rw"}, true},
		{"c 1:3", specs.LinuxDeviceCgroup{}, false},
		{"x 1:3 r", specs.LinuxDeviceCgroup{}, false},
		{"c 1:3 rr", specs.LinuxDeviceCgroup{}, false},
		{"c a:3 r", specs.LinuxDeviceCgroup{}, false},
	}
	for _, tt := range tests {
		got, err := ParseDeviceCgroupRule(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("%q: error class %v", tt.in, err)
			}
			continue
		}
		eq := func(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
		if got.Type != tt.want.Type || got.Access != tt.want.Access || !eq(got.Major, tt.want.Major) || !eq(got.Minor, tt.want.Minor) || !got.Allow {
			t.Errorf("%q = %+v", tt.in, got)
		}
	}
}

func TestCheckUlimit(t *testing.T) {
	max, ok := nrOpen()
	tests := []struct {
		u  Ulimit
		ok bool
	}{
		{Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}, true},
		{Ulimit{Name: "core", Soft: -1, Hard: -1}, true},
		{Ulimit{Name: "nproc", Soft: 10, Hard: -1}, true},
		{Ulimit{Name: "nofile", Soft: 4096, Hard: 1024}, false},
		{Ulimit{Name: "nope", Soft: 1, Hard: 1}, false},
		{Ulimit{Name: "stack", Soft: -5, Hard: 1}, false},
		{Ulimit{Name: "nofile", Soft: 1, Hard: -1}, !ok}, // unlimited is above fs.nr_open
	}
	if ok {
		tests = append(tests, struct {
			u  Ulimit
			ok bool
		}{Ulimit{Name: "nofile", Soft: 1, Hard: int64(max) + 1}, false})
	}
	for _, tt := range tests {
		err := CheckUlimit(tt.u)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("CheckUlimit(%+v) = %v", tt.u, err)
		}
	}
}

func TestValidPerms(t *testing.T) {
	for p, want := range map[string]bool{"r": true, "rwm": true, "mr": true, "": false, "rr": false, "rwx": false, "rwmr": false} {
		if validPerms(p) != want {
			t.Errorf("validPerms(%q) != %v", p, want)
		}
	}
}

// optionSpec builds the OCI spec of a container with options o.
func optionSpec(t *testing.T, o Options) *specs.Spec {
	t.Helper()
	s := &Spec{ID: "abc", Dir: t.TempDir(), Hostname: "h", Args: []string{"sh"}, Options: o}
	spec := ociSpec(s, "/rootfs")
	if err := applyOptions(spec, s); err != nil {
		t.Fatal(err)
	}
	return spec
}

func mountAt(spec *specs.Spec, dest string) *specs.Mount {
	for i := range spec.Mounts {
		if spec.Mounts[i].Destination == dest {
			return &spec.Mounts[i]
		}
	}
	return nil
}

func hasNS(spec *specs.Spec, typ specs.LinuxNamespaceType) (string, bool) {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == typ {
			return ns.Path, true
		}
	}
	return "", false
}

func TestApplyOptions(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		spec := optionSpec(t, Options{})
		if spec.Root.Readonly || spec.Linux.Seccomp == nil || len(spec.Linux.MaskedPaths) == 0 || spec.Process.NoNewPrivileges {
			t.Errorf("defaults: ro %v seccomp %v masked %d nnp %v", spec.Root.Readonly, spec.Linux.Seccomp != nil, len(spec.Linux.MaskedPaths), spec.Process.NoNewPrivileges)
		}
		if m := mountAt(spec, "/dev/shm"); m == nil || !slices.Contains(m.Options, "size=67108864") {
			t.Errorf("/dev/shm %+v", m)
		}
		if spec.Linux.CgroupsPath != "/compose/abc" {
			t.Errorf("cgroup path %s", spec.Linux.CgroupsPath)
		}
	})
	t.Run("filesystem", func(t *testing.T) {
		spec := optionSpec(t, Options{ReadOnly: true, ShmSize: 1 << 20, Tmpfs: []Tmpfs{{Destination: "/run", Options: []string{"size=65536", "exec"}}}})
		if !spec.Root.Readonly {
			t.Error("root not read-only")
		}
		if m := mountAt(spec, "/dev/shm"); m == nil || !slices.Contains(m.Options, "size=1048576") {
			t.Errorf("/dev/shm %+v", m)
		}
		m := mountAt(spec, "/run")
		if m == nil || m.Type != "tmpfs" || !slices.Equal(m.Options, []string{"nosuid", "nodev", "noexec", "size=65536", "exec"}) {
			t.Errorf("tmpfs %+v", m)
		}
	})
	t.Run("privileged", func(t *testing.T) {
		spec := optionSpec(t, Options{Privileged: true})
		if spec.Linux.Seccomp != nil || spec.Linux.MaskedPaths != nil || spec.Linux.ReadonlyPaths != nil {
			t.Error("privileged keeps seccomp or masked paths")
		}
		if m := mountAt(spec, "/sys"); m == nil || slices.Contains(m.Options, "ro") {
			t.Errorf("/sys %+v", m)
		}
		if d := spec.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Type != "" {
			t.Errorf("device rules %+v", d)
		}
		if len(spec.Process.Capabilities.Bounding) != len(grantableCaps()) {
			t.Errorf("caps %v", spec.Process.Capabilities.Bounding)
		}
	})
	t.Run("security", func(t *testing.T) {
		adj := 300
		spec := optionSpec(t, Options{NoNewPrivileges: true, Seccomp: SeccompUnconfined, UnmaskPaths: true, OOMScoreAdj: &adj,
			Sysctls: map[string]string{"net.core.somaxconn": "1024"}, DeviceCgroupRules: []string{"c 10:200 rwm"}})
		if !spec.Process.NoNewPrivileges || spec.Linux.Seccomp != nil || spec.Linux.MaskedPaths != nil || *spec.Process.OOMScoreAdj != 300 {
			t.Errorf("security options not applied")
		}
		if spec.Linux.Sysctl["net.core.somaxconn"] != "1024" || spec.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
			t.Errorf("sysctls %v", spec.Linux.Sysctl)
		}
		d := spec.Linux.Resources.Devices
		if last := d[len(d)-1]; last.Type != "c" || *last.Major != 10 || *last.Minor != 200 {
			t.Errorf("device rules %+v", d)
		}
	})
	t.Run("devices", func(t *testing.T) {
		spec := optionSpec(t, Options{Devices: []Device{{Source: "/dev/null", Target: "/dev/mynull", Permissions: "rw"}}})
		var found bool
		for _, d := range spec.Linux.Devices {
			if d.Path == "/dev/mynull" && d.Type == "c" && d.Major == 1 && d.Minor == 3 {
				found = true
			}
		}
		rules := spec.Linux.Resources.Devices
		if last := rules[len(rules)-1]; !found || last.Access != "rw" || *last.Major != 1 {
			t.Errorf("devices %+v rules %+v", spec.Linux.Devices, rules)
		}
	})
	t.Run("namespaces", func(t *testing.T) {
		spec := optionSpec(t, Options{PIDMode: "host", IPCMode: "host", UTSMode: "host", Domainname: "example.com"})
		for _, typ := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace} {
			if _, ok := hasNS(spec, typ); ok {
				t.Errorf("%s namespace kept", typ)
			}
		}
		if spec.Hostname != "" || spec.Domainname != "" {
			t.Error("hostname set without a UTS namespace")
		}
		if m := mountAt(spec, "/dev/shm"); m == nil || m.Source != "/dev/shm" || m.Type != "bind" {
			t.Errorf("ipc host /dev/shm %+v", m)
		}
		spec = optionSpec(t, Options{PIDNamespacePath: "/proc/1/ns/pid", IPCMode: "none", CgroupnsMode: "host", Domainname: "example.com"})
		if p, _ := hasNS(spec, specs.PIDNamespace); p != "/proc/1/ns/pid" {
			t.Errorf("pid ns path %q", p)
		}
		if _, ok := hasNS(spec, specs.CgroupNamespace); ok {
			t.Error("cgroup namespace kept")
		}
		if mountAt(spec, "/dev/shm") != nil {
			t.Error("ipc none mounts /dev/shm")
		}
		if spec.Domainname != "example.com" {
			t.Errorf("domainname %q", spec.Domainname)
		}
	})
	t.Run("resources", func(t *testing.T) {
		sw := uint64(10)
		spec := optionSpec(t, Options{CgroupParent: "tenant/a", Resources: Resources{Memory: 64 << 20, MemorySwap: -1, MemoryReservation: 32 << 20,
			MemorySwappiness: &sw, NanoCPUs: 1.5e9, CPUShares: 512, CpusetCpus: "0", PidsLimit: 42}})
		r := spec.Linux.Resources
		if *r.Memory.Limit != 64<<20 || *r.Memory.Swap != -1 || *r.Memory.Reservation != 32<<20 || *r.Memory.Swappiness != 10 {
			t.Errorf("memory %+v", r.Memory)
		}
		if *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 || r.CPU.Cpus != "0" {
			t.Errorf("cpu %+v", r.CPU)
		}
		if *r.Pids.Limit != 42 {
			t.Errorf("pids %+v", r.Pids)
		}
		if spec.Linux.CgroupsPath != "/tenant/a/abc" {
			t.Errorf("cgroup path %s", spec.Linux.CgroupsPath)
		}
	})
}

func TestApplyOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		err  error
	}{
		{"relative tmpfs", Options{Tmpfs: []Tmpfs{{Destination: "run"}}}, errdefs.ErrInvalidArgument},
		{"unknown cap", Options{CapDrop: []string{"CAP_NOPE"}}, errdefs.ErrInvalidArgument},
		{"missing device", Options{Devices: []Device{{Source: "/dev/does-not-exist"}}}, errdefs.ErrNotFound},
		{"not a device", Options{Devices: []Device{{Source: "/etc/hostname"}}}, errdefs.ErrInvalidArgument},
		{"bad device perms", Options{Devices: []Device{{Source: "/dev/null", Permissions: "x"}}}, errdefs.ErrInvalidArgument},
		{"bad cgroup rule", Options{DeviceCgroupRules: []string{"c 1:3"}}, errdefs.ErrInvalidArgument},
		{"escaping cgroup parent", Options{CgroupParent: "../x"}, errdefs.ErrInvalidArgument},
		{"bad seccomp", Options{Seccomp: "{"}, errdefs.ErrInvalidArgument},
		{"missing init", Options{Init: true, InitPath: "/nonexistent/compose-init"}, errdefs.ErrFailedPrecondition},
		{"join a stopped container", Options{IPCContainer: t.TempDir()}, errdefs.ErrFailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Spec{ID: "abc", Dir: t.TempDir(), Args: []string{"sh"}, Options: tt.o}
			err := applyOptions(ociSpec(s, "/rootfs"), s)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}

func TestProcessArgs(t *testing.T) {
	s := &Spec{Args: []string{"sh", "-c", "x"}}
	if got := processArgs(s); !slices.Equal(got, s.Args) {
		t.Errorf("no init: %q", got)
	}
	s.Options.Init = true
	if got := processArgs(s); !slices.Equal(got, []string{InitDest, "--", "sh", "-c", "x"}) {
		t.Errorf("init: %q", got)
	}
}
