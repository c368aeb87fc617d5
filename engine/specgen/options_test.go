package engine

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
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
	swap := int64(0) // memswap default: twice the memory when swap is accounted
	if container.SwapLimitSupported() {
		swap = 128 << 20
	}
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
			func(o *runspec.Options) bool { return o.Seccomp == container.SeccompUnconfined }},
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
				return r.Memory == 64<<20 && r.MemorySwap == swap && r.MemoryReservation == 32<<20 && r.NanoCPUs == 5e8 &&
					r.CPUShares == 512 && r.PidsLimit == 100 && *o.OOMScoreAdj == -500
			}},
		{"unlimited swap", types.ContainerSpec{MemLimit: mib(64), MemSwapLimit: -1}, nil,
			func(o *runspec.Options) bool {
				return o.Resources.MemorySwap == -1 || !container.SwapLimitSupported()
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
			o, warnings, err := containerOptions(svc, v1.Config{}, optionsEnv{projectDir: profileDir, containersDir: t.TempDir()})
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
			_, _, err := containerOptions(svc, v1.Config{}, optionsEnv{projectDir: dir, containersDir: t.TempDir()})
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
	tests := []struct {
		name string
		svc  types.ContainerSpec
		warn string
	}{
		{"label", types.ContainerSpec{SecurityOpt: []string{"label=disable"}}, "SELinux"},
		{"apparmor profile", types.ContainerSpec{SecurityOpt: []string{"apparmor=docker-default"}}, "AppArmor"},
		{"privileged with caps", types.ContainerSpec{Privileged: true, CapDrop: []string{"NET_RAW"}}, "privileged"},
		{"blkio", types.ContainerSpec{BlkioConfig: &types.BlkioConfig{Weight: 100}}, "blkio_config"},
		{"cpu_count", types.ContainerSpec{CPUCount: 2}, "Windows"},
		{"rt", types.ContainerSpec{CPURTRuntime: 1000}, "real-time"},
		{"shares clamp", types.ContainerSpec{CPUShares: 1}, "minimum, 2"},
		{"shm with host ipc", types.ContainerSpec{Ipc: "host", ShmSize: 1 << 20}, "shm_size is ignored"},
		{"huge nproc", types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nproc": {Single: -1}}}, ""},
	}
	if container.CgroupV2() {
		tests = append(tests, struct {
			name string
			svc  types.ContainerSpec
			warn string
		}{"oom kill disable v2", types.ContainerSpec{OomKillDisable: true, MemLimit: 1 << 30}, "cgroup v2"})
	} else {
		tests = append(tests, struct {
			name string
			svc  types.ContainerSpec
			warn string
		}{"oom kill disable without limit", types.ContainerSpec{OomKillDisable: true}, "without mem_limit"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := types.ServiceConfig{Name: "web", ContainerSpec: tt.svc}
			_, warnings, err := containerOptions(svc, v1.Config{}, optionsEnv{containersDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if tt.warn == "" {
				return // only that it is not an error
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.warn) || !strings.HasPrefix(warnings[0], `service "web": `) {
				t.Errorf("warnings %q, want one about %q", warnings, tt.warn)
			}
		})
	}
}

// TestNamespaceContainerRef resolves service:x to the first container of
// that service in the project, and container:name to that container.
func TestNamespaceContainerRef(t *testing.T) {
	root := t.TempDir()
	e := &Engine{root: root, records: &record.Store{Root: root}}
	for _, r := range []*record.Record{
		{ID: "aaa", Name: "p-db-2", Project: "p", Service: "db", Number: 2},
		{ID: "bbb", Name: "p-db-1", Project: "p", Service: "db", Number: 1},
		{ID: "ccc", Name: "q-db-1", Project: "q", Service: "db", Number: 1},
	} {
		r.Dir = e.records.Dir(r.ID)
		r.Created = time.Now()
		if err := os.MkdirAll(r.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := e.records.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	env := optionsEnv{project: "p", containersDir: e.records.ContainersDir()}
	for ref, want := range map[string]string{"service:db": "bbb", "container:q-db-1": "ccc", "container:p-db-2": "aaa"} {
		svc := types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Ipc: ref, Pid: ref}}
		o, _, err := containerOptions(svc, v1.Config{}, env)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if filepath.Base(o.IPCContainer) != want || filepath.Base(o.PIDContainer) != want {
			t.Errorf("%s -> ipc %s pid %s, want %s", ref, o.IPCContainer, o.PIDContainer, want)
		}
	}
}
