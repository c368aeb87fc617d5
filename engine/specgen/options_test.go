package specgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

func boolPtr(b bool) *bool { return &b }

func TestContainerOptions(t *testing.T) {
	profileDir := t.TempDir()
	profile := `{"defaultAction":"SCMP_ACT_ALLOW"}`
	if err := os.WriteFile(filepath.Join(profileDir, "p.json"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	mib := func(n int64) types.UnitBytes { return types.UnitBytes(n << 20) }
	tests := []struct {
		name string
		svc  types.ContainerSpec
		dep  *types.DeployConfig
		want func(*runspec.Options) bool
	}{
		{"plain", types.ContainerSpec{}, nil, func(o *runspec.Options) bool { return reflect.DeepEqual(*o, runspec.Options{}) }},
		{"identity", types.ContainerSpec{DomainName: "example.com", GroupAdd: []string{"audio", "1000"}, Init: boolPtr(true)}, nil,
			func(o *runspec.Options) bool {
				return o.Domainname == "example.com" && len(o.GroupAdd) == 2 && o.Init
			}},
		{"filesystem", types.ContainerSpec{ReadOnly: true, ShmSize: mib(128), Tmpfs: types.StringList{"/run", "/cache:size=64m,mode=1777,exec"}}, nil,
			func(o *runspec.Options) bool {
				return o.ReadOnly && o.ShmSize == 128<<20 && len(o.Tmpfs) == 2 && o.Tmpfs[0].Destination == "/run" &&
					reflect.DeepEqual(o.Tmpfs[1].Options, []string{"size=67108864", "mode=1777", "exec"})
			}},
		{"security", types.ContainerSpec{CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"},
			SecurityOpt: []string{"no-new-privileges:true", "seccomp=p.json", "apparmor=unconfined", "systempaths=unconfined"}}, nil,
			func(o *runspec.Options) bool {
				return o.NoNewPrivileges && o.Seccomp == profile && o.UnmaskPaths && len(o.CapAdd) == 1
			}},
		{"seccomp unconfined", types.ContainerSpec{SecurityOpt: []string{"seccomp:unconfined"}}, nil,
			func(o *runspec.Options) bool { return o.Seccomp == runspec.SeccompUnconfined }},
		{"sysctls and ulimits", types.ContainerSpec{Sysctls: types.Mapping{"net.core.somaxconn": "1024", "kernel.shmmax": "1"},
			Ulimits: map[string]*types.UlimitsConfig{"nofile": {Soft: 1024, Hard: 2048}, "nproc": {Single: 100}}}, nil,
			func(o *runspec.Options) bool {
				return o.Sysctls["net.core.somaxconn"] == "1024" && len(o.Ulimits) == 2 &&
					o.Ulimits[0] == runspec.Ulimit{Name: "nofile", Soft: 1024, Hard: 2048} &&
					o.Ulimits[1] == runspec.Ulimit{Name: "nproc", Soft: 100, Hard: 100}
			}},
		{"devices", types.ContainerSpec{Devices: []types.DeviceMapping{{Source: "/dev/null", Target: "/dev/x", Permissions: "rw"}},
			DeviceCgroupRules: []string{"c 1:3 mr"}}, nil,
			func(o *runspec.Options) bool {
				return o.Devices[0] == runspec.Device{Source: "/dev/null", Target: "/dev/x", Permissions: "rw"} && len(o.DeviceCgroupRules) == 1
			}},
		{"resources", types.ContainerSpec{MemLimit: mib(64), MemReservation: mib(32), CPUS: 0.5, CPUShares: 512, PidsLimit: 100, OomScoreAdj: -500}, nil,
			func(o *runspec.Options) bool {
				r := o.Resources
				return r.Memory == 64<<20 && r.MemorySwap == 128<<20 && r.MemoryReservation == 32<<20 && r.NanoCPUs == 5e8 &&
					r.CPUShares == 512 && r.PidsLimit == 100 && *o.OOMScoreAdj == -500
			}},
		{"unlimited swap", types.ContainerSpec{MemLimit: mib(64), MemSwapLimit: -1}, nil,
			func(o *runspec.Options) bool {
				return o.Resources.MemorySwap == -1
			}},
		{"deploy limits", types.ContainerSpec{}, &types.DeployConfig{Resources: types.Resources{
			Limits:       &types.Resource{NanoCPUs: 0.25, MemoryBytes: types.UnitBytes(32 << 20), Pids: 50},
			Reservations: &types.Resource{MemoryBytes: types.UnitBytes(16 << 20)}}},
			func(o *runspec.Options) bool {
				r := o.Resources
				return r.Memory == 32<<20 && r.NanoCPUs == 25e7 && r.PidsLimit == 50 && r.MemoryReservation == 16<<20
			}},
		{"quota and period", types.ContainerSpec{CPUQuota: 50000, CPUPeriod: 100000, CPUSet: "0"}, nil,
			func(o *runspec.Options) bool {
				return o.Resources.CPUQuota == 50000 && o.Resources.CPUPeriod == 100000 && o.Resources.CpusetCpus == "0"
			}},
		{"namespaces", types.ContainerSpec{Pid: "host", Ipc: "shareable", Uts: "host", Cgroup: "private", CgroupParent: "tenant"}, nil,
			func(o *runspec.Options) bool {
				return o.PIDMode == "host" && o.IPCMode == "shareable" && o.UTSMode == "host" && o.CgroupnsMode == "private" && o.CgroupParent == "tenant"
			}},
		{"host platform and runc", types.ContainerSpec{Platform: runtime.GOOS + "/" + runtime.GOARCH, Runtime: "runc"}, nil,
			func(o *runspec.Options) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := types.ServiceConfig{Name: "web", ContainerSpec: tt.svc, Deploy: tt.dep}
			o, warnings, err := containerOptions(svc, Input{ProjectDir: profileDir, Runtime: testRuntime()})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if !tt.want(&o) {
				t.Errorf("options %+v", o)
			}
		})
	}
}

func TestContainerOptionsErrors(t *testing.T) {
	other := "linux/s390x"
	if runtime.GOARCH == "s390x" {
		other = "linux/amd64"
	}
	tests := []struct {
		name string
		svc  types.ContainerSpec
		err  error
		msg  string // part of the message
	}{
		{"runtime", types.ContainerSpec{Runtime: "nvidia"}, errdefs.ErrInvalidArgument, `runtime "nvidia" is not supported`},
		{"platform", types.ContainerSpec{Platform: other}, errdefs.ErrInvalidArgument, "is not this host's"},
		{"unknown cap", types.ContainerSpec{CapAdd: []string{"CAP_FLY"}}, errdefs.ErrInvalidArgument, "unknown capability"},
		{"host sysctl", types.ContainerSpec{Sysctls: types.Mapping{"vm.swappiness": "1"}}, errdefs.ErrInvalidArgument, "not namespaced"},
		{"net sysctl with host net", types.ContainerSpec{NetworkMode: "host", Sysctls: types.Mapping{"net.core.somaxconn": "1"}}, errdefs.ErrInvalidArgument, "network_mode: host"},
		{"ipc sysctl with host ipc", types.ContainerSpec{Ipc: "host", Sysctls: types.Mapping{"kernel.shmmax": "1"}}, errdefs.ErrInvalidArgument, "ipc: host"},
		{"soft above hard", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nofile": {Soft: 10, Hard: 5}}}, errdefs.ErrInvalidArgument, "above the hard limit"},
		{"unknown ulimit", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"files": {Single: 5}}}, errdefs.ErrInvalidArgument, "unknown"},
		{"nofile above nr_open", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nofile": {Single: 1 << 40}}}, errdefs.ErrInvalidArgument, "fs.nr_open"},
		{"tiny memory", types.ContainerSpec{MemLimit: 1 << 20}, errdefs.ErrInvalidArgument, "minimum is 6MB"},
		{"swap without memory", types.ContainerSpec{MemSwapLimit: 1 << 30}, errdefs.ErrInvalidArgument, "needs mem_limit"},
		{"swap below memory", types.ContainerSpec{MemLimit: 1 << 30, MemSwapLimit: 1 << 29}, errdefs.ErrInvalidArgument, "at least mem_limit"},
		{"reservation above limit", types.ContainerSpec{MemLimit: 1 << 29, MemReservation: 1 << 30}, errdefs.ErrInvalidArgument, "mem_reservation"},
		{"too many cpus", types.ContainerSpec{CPUS: 1000}, errdefs.ErrInvalidArgument, "CPUs available"},
		{"cpus and quota", types.ContainerSpec{CPUS: 0.5, CPUQuota: 10000}, errdefs.ErrInvalidArgument, "cannot be combined"},
		{"tiny quota", types.ContainerSpec{CPUQuota: 10}, errdefs.ErrInvalidArgument, "minimum is 1000"},
		{"bad period", types.ContainerSpec{CPUPeriod: 10}, errdefs.ErrInvalidArgument, "cpu_period"},
		{"bad cpuset", types.ContainerSpec{CPUSet: "0-x"}, errdefs.ErrInvalidArgument, "cpuset"},
		{"cpu not here", types.ContainerSpec{CPUSet: "4096"}, errdefs.ErrInvalidArgument, "not available"},
		{"oom score", types.ContainerSpec{OomScoreAdj: 2000}, errdefs.ErrInvalidArgument, "oom_score_adj"},
		{"security_opt", types.ContainerSpec{SecurityOpt: []string{"foo=bar"}}, errdefs.ErrInvalidArgument, "unknown option"},
		{"no-new-privileges value", types.ContainerSpec{SecurityOpt: []string{"no-new-privileges=maybe"}}, errdefs.ErrInvalidArgument, "no-new-privileges"},
		{"missing profile", types.ContainerSpec{SecurityOpt: []string{"seccomp=nope.json"}}, errdefs.ErrNotFound, "nope.json not found"},
		{"bad profile", types.ContainerSpec{SecurityOpt: []string{"seccomp=bad.json"}}, errdefs.ErrInvalidArgument, "bad.json"},
		{"pid mode", types.ContainerSpec{Pid: "private-ish"}, errdefs.ErrInvalidArgument, "pid"},
		{"ipc mode", types.ContainerSpec{Ipc: "bogus"}, errdefs.ErrInvalidArgument, "ipc"},
		{"ipc service missing", types.ContainerSpec{Ipc: "service:db"}, errdefs.ErrNotFound, `service "db" has no container`},
		{"uts with hostname", types.ContainerSpec{Uts: "host", Hostname: "x"}, errdefs.ErrInvalidArgument, "uts: host"},
		{"tmpfs relative", types.ContainerSpec{Tmpfs: types.StringList{"data"}}, errdefs.ErrInvalidArgument, "absolute"},
		{"tmpfs option", types.ContainerSpec{Tmpfs: types.StringList{"/data:color=red"}}, errdefs.ErrInvalidArgument, "unknown option"},
		{"tmpfs size", types.ContainerSpec{Tmpfs: types.StringList{"/data:size=lots"}}, errdefs.ErrInvalidArgument, "size"},
		{"missing device", types.ContainerSpec{Devices: []types.DeviceMapping{{Source: "/dev/nope"}}}, errdefs.ErrNotFound, "/dev/nope"},
		{"device cgroup rule", types.ContainerSpec{DeviceCgroupRules: []string{"z 1:1 r"}}, errdefs.ErrInvalidArgument, "device cgroup rule"},
		{"userns", types.ContainerSpec{UserNSMode: "keep-id"}, errdefs.ErrInvalidArgument, "userns_mode"},
		{"storage_opt", types.ContainerSpec{StorageOpt: map[string]string{"size": "1G"}}, errdefs.ErrInvalidArgument, "storage_opt"},
		{"gpus", types.ContainerSpec{Gpus: []types.DeviceRequest{{Count: -1}}}, errdefs.ErrInvalidArgument, "gpus"},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"defaultAction":"SCMP_ACT_NOPE"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := types.ServiceConfig{Name: "web", ContainerSpec: tt.svc}
			_, _, err := containerOptions(svc, Input{ProjectDir: dir, Runtime: testRuntime()})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.msg) || !strings.HasPrefix(msg, `service "web": `) || strings.Contains(msg, "\n") {
				t.Errorf("message %q should name the service and contain %q on one line", msg, tt.msg)
			}
		})
	}
}

func TestContainerOptionsWarnings(t *testing.T) {
	v1Host := testRuntime()
	v1Host.cgroupV2 = false
	noSwap := testRuntime()
	noSwap.swap = false
	lowNofile := testRuntime()
	lowNofile.hard = map[string]uint64{"nofile": 1024}
	tests := []struct {
		name string
		svc  types.ContainerSpec
		rt   *fakeRuntime // nil: testRuntime()
		warn string       // "": no warning
	}{
		{"label", types.ContainerSpec{SecurityOpt: []string{"label=disable"}}, nil, "SELinux"},
		{"apparmor profile", types.ContainerSpec{SecurityOpt: []string{"apparmor=docker-default"}}, nil, "AppArmor"},
		{"apparmor unconfined", types.ContainerSpec{SecurityOpt: []string{"apparmor:unconfined"}}, nil, ""},
		{"privileged with caps", types.ContainerSpec{Privileged: true, CapDrop: []string{"NET_RAW"}}, nil, "privileged"},
		{"privileged with seccomp profile", types.ContainerSpec{Privileged: true, SecurityOpt: []string{"seccomp=p.json"}}, nil, "privileged containers run without seccomp"},
		{"blkio", types.ContainerSpec{BlkioConfig: &types.BlkioConfig{Weight: 100}}, nil, "blkio_config"},
		{"cpu_count", types.ContainerSpec{CPUCount: 2}, nil, "Windows"},
		{"credential_spec", types.ContainerSpec{CredentialSpec: &types.CredentialSpecConfig{File: "x"}}, nil, "Windows"},
		{"rt", types.ContainerSpec{CPURTRuntime: 1000}, nil, "real-time"},
		{"shares clamp low", types.ContainerSpec{CPUShares: 1}, nil, "minimum, 2"},
		{"shares clamp high", types.ContainerSpec{CPUShares: 1 << 20}, nil, "maximum, 262144"},
		{"shm with host ipc", types.ContainerSpec{Ipc: "host", ShmSize: 1 << 20}, nil, "shm_size is ignored"},
		{"huge nproc", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nproc": {Single: -1}}}, nil, ""},
		{"nofile above the host's", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nofile": {Single: 4096}}}, lowNofile, "hard limit 4096 is above this host's 1024"},
		{"oom kill disable v2", types.ContainerSpec{OomKillDisable: true, MemLimit: 1 << 30}, nil, "cgroup v2"},
		{"oom kill disable v1 with limit", types.ContainerSpec{OomKillDisable: true, MemLimit: 1 << 30}, v1Host, ""},
		{"oom kill disable without limit", types.ContainerSpec{OomKillDisable: true}, v1Host, "without mem_limit"},
		{"swappiness v2", types.ContainerSpec{MemSwappiness: 10}, nil, "no per-cgroup swappiness"},
		{"swappiness v1", types.ContainerSpec{MemSwappiness: 10}, v1Host, ""},
		{"swap not accounted", types.ContainerSpec{MemLimit: 1 << 30, MemSwapLimit: 2 << 30}, noSwap, "memswap_limit is ignored"},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.json"), []byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := tt.rt
			if rt == nil {
				rt = testRuntime()
			}
			svc := types.ServiceConfig{Name: "web", ContainerSpec: tt.svc}
			_, warnings, err := containerOptions(svc, Input{ProjectDir: dir, Runtime: rt})
			if err != nil {
				t.Fatal(err)
			}
			if tt.warn == "" {
				if len(warnings) > 0 {
					t.Errorf("warnings %q, want none", warnings)
				}
				return
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.warn) || !strings.HasPrefix(warnings[0], `service "web": `) || strings.Contains(warnings[0], "\n") {
				t.Errorf("warnings %q, want one line about %q", warnings, tt.warn)
			}
		})
	}
}

// TestNamespacePeers joins the namespaces of the container a service:x or
// container:x reference finds, and warns when its /dev/shm is not shared.
func TestNamespacePeers(t *testing.T) {
	peers := map[string]Peer{
		"service:db":       {Dir: "/c/bbb", Options: &runspec.Options{IPCMode: "shareable"}},
		"container:q-db-1": {Dir: "/c/ccc"},
		"container:p-db-2": {Dir: "/c/aaa", Options: &runspec.Options{}},
	}
	in := Input{Runtime: testRuntime(), FindPeer: func(ref string) (Peer, error) {
		if p, ok := peers[ref]; ok {
			return p, nil
		}
		return Peer{}, fmt.Errorf("%s has no container: %w", ref, errdefs.ErrNotFound)
	}}
	for ref, want := range map[string]struct{ dir, warn string }{
		"service:db":       {"/c/bbb", ""},
		"container:q-db-1": {"/c/ccc", ""}, // never started: nothing known of its /dev/shm
		"container:p-db-2": {"/c/aaa", "its /dev/shm is not shared"},
	} {
		svc := types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Ipc: ref, Pid: ref}}
		o, warnings, err := containerOptions(svc, in)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if o.IPCContainer != want.dir || o.PIDContainer != want.dir || o.IPCMode != "" || o.PIDMode != "" {
			t.Errorf("%s -> ipc %q pid %q, want %s", ref, o.IPCContainer, o.PIDContainer, want.dir)
		}
		if got := strings.Join(warnings, "\n"); want.warn == "" && got != "" || !strings.Contains(got, want.warn) {
			t.Errorf("%s: warnings %q, want %q", ref, got, want.warn)
		}
	}
	svc := types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Pid: "service:cache"}}
	_, _, err := containerOptions(svc, in)
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.HasPrefix(err.Error(), `service "web": pid: service:cache`) {
		t.Errorf("missing peer: %v", err)
	}
	in.FindPeer = nil
	_, _, err = containerOptions(svc, in)
	if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != `service "web": pid: service "cache" has no container: not found` {
		t.Errorf("no finder: %v", err)
	}
}
