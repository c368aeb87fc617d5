package container

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// initBinary builds cmd/compose-init (static) into the test's temp dir; the
// Go build cache makes the second build cheap.
func initBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), InitName)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/composer-dev/compose/cmd/compose-init")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build compose-init: %v\n%s", err, out)
	}
	return bin
}

// addApplets links more busybox applets into the spec's image layer.
func addApplets(t *testing.T, spec *Spec, applets ...string) {
	t.Helper()
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(spec.Lower[0], "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
}

// hostStatus returns a field of this process's /proc/self/status.
func hostStatus(t *testing.T, field string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return ""
}

// cgroupFile is the path of a cgroup limit file inside the container, for
// cgroup v1 (per-controller mounts) or v2 (one unified mount).
func cgroupFile(v1Controller, v1File, v2File string) string {
	if CgroupV2() {
		return "/sys/fs/cgroup/" + v2File
	}
	return "/sys/fs/cgroup/" + v1Controller + "/" + v1File
}

// TestOptionsInside proves each option from inside a real container.
func TestOptionsInside(t *testing.T) {
	testutil.RequiresRoot(t)
	status := `grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | tr '\n' ' '`
	profile := filepath.Join(t.TempDir(), "no-mkdir.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	profileData, _ := os.ReadFile(profile)
	hostCapBnd := hostStatus(t, "CapBnd")
	hostComm, _ := os.ReadFile("/proc/1/comm")
	hostHostname, _ := os.Hostname()
	hostDev := "/dev/kmsg" // a host device outside the default set
	for _, d := range []string{"/dev/loop-control", "/dev/fuse"} {
		if _, err := os.Stat(d); err == nil {
			hostDev = d
		}
	}
	memLimit := cgroupFile("memory", "memory.limit_in_bytes", "memory.max")
	cpuQuota := cgroupFile("cpu", "cpu.cfs_quota_us", "cpu.max")
	pidsMax := cgroupFile("pids", "pids.max", "pids.max")

	tests := []struct {
		name    string
		script  string
		opts    Options
		applets []string
		user    string
		want    string // exact stdout, or (with contains) a substring
		contain bool
	}{
		{"group_add", "id -G", Options{GroupAdd: []string{"nogroup", "1234"}}, nil, "", "0 1234 65534\n", false},
		{"group_add non-root", "id -G", Options{GroupAdd: []string{"1234"}}, nil, "nobody", "65534 1234\n", false},
		{"default security", status, Options{}, []string{"tr"}, "", "CapEff:00000000a80425fb CapBnd:00000000a80425fb NoNewPrivs:0 Seccomp:2 ", false},
		{"cap_add", "grep CapEff /proc/self/status", Options{CapAdd: []string{"NET_ADMIN"}}, nil, "", "00000000a80435fb", true},
		{"cap_drop ALL", "grep CapEff /proc/self/status", Options{CapDrop: []string{"ALL"}}, nil, "", "0000000000000000", true},
		{"no-new-privileges", "grep NoNewPrivs /proc/self/status", Options{NoNewPrivileges: true}, nil, "", "NoNewPrivs:\t1", true},
		{"seccomp unconfined", "grep Seccomp: /proc/self/status", Options{Seccomp: SeccompUnconfined}, nil, "", "Seccomp:\t0", true},
		{"seccomp profile", "mkdir /tmp/x 2>/dev/null && echo made || echo denied", Options{Seccomp: string(profileData)}, nil, "", "denied\n", false},
		{"default seccomp allows mkdir", "mkdir /tmp/x && echo made", Options{}, nil, "", "made\n", false},
		{"privileged", status, Options{Privileged: true}, []string{"tr"}, "", "CapEff:" + hostCapBnd + " CapBnd:" + hostCapBnd + " NoNewPrivs:0 Seccomp:0 ", false},
		{"privileged devices", "test -c " + hostDev + " && echo yes; grep -c ' /sys sysfs rw' /proc/mounts", Options{Privileged: true}, []string{"test"}, "", "yes\n1\n", false},
		{"unprivileged devices", "test -e " + hostDev + " || echo no", Options{}, []string{"test"}, "", "no\n", false},
		{"mem_limit", "cat " + memLimit, Options{Resources: Resources{Memory: 64 << 20}}, nil, "", "67108864\n", false},
		{"cpus", "cat " + cpuQuota, Options{Resources: Resources{NanoCPUs: 5e8}}, nil, "", "50000", true},
		{"pids_limit", "cat " + pidsMax, Options{Resources: Resources{PidsLimit: 42}}, nil, "", "42\n", false},
		{"ulimit nofile", "ulimit -n; ulimit -Hn", Options{Ulimits: []Ulimit{{Name: "nofile", Soft: 1234, Hard: 2345}}}, nil, "", "1234\n2345\n", false},
		{"read_only", "echo x > /file 2>/dev/null || echo denied; echo y > /dev/shm/ok && echo shm-ok", Options{ReadOnly: true}, nil, "", "denied\nshm-ok\n", false},
		{"tmpfs", "grep ' /data ' /proc/mounts", Options{Tmpfs: []Tmpfs{{Destination: "/data", Options: []string{"size=1048576", "mode=1770"}}}}, nil, "", "tmpfs /data tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770", true},
		{"shm_size", "grep ' /dev/shm ' /proc/mounts", Options{ShmSize: 32 << 20}, nil, "", "size=32768k", true},
		{"sysctl", "cat /proc/sys/kernel/shmmax /proc/sys/net/core/somaxconn", Options{Sysctls: map[string]string{"kernel.shmmax": "123456", "net.core.somaxconn": "77"}}, nil, "", "123456\n77\n", false},
		{"device", "test -c /dev/mynull && echo present; echo hi > /dev/mynull && echo wrote", Options{Devices: []Device{{Source: "/dev/null", Target: "/dev/mynull"}}}, []string{"test"}, "", "present\nwrote\n", false},
		{"device read-only", "test -c /dev/ro && echo present; echo hi > /dev/ro 2>/dev/null || echo denied", Options{Devices: []Device{{Source: "/dev/kmsg", Target: "/dev/ro", Permissions: "r"}}}, []string{"test"}, "", "present\ndenied\n", false},
		{"pid host", "cat /proc/1/comm", Options{PIDMode: "host"}, nil, "", string(hostComm), false},
		{"uts host", "hostname", Options{UTSMode: "host"}, nil, "", hostHostname + "\n", false},
		{"domainname", "cat /proc/sys/kernel/domainname", Options{Domainname: "example.com"}, nil, "", "example.com\n", false},
		{"oom_score_adj", "cat /proc/self/oom_score_adj", Options{OOMScoreAdj: ptr(500)}, nil, "", "500\n", false},
		{"masked paths", "cat /proc/kcore | wc -c; ls /proc/acpi 2>/dev/null | wc -l", Options{}, nil, "", "0\n0\n", false},
		{"init is pid 1", "cat /proc/1/cmdline | tr '\\0' ' '", Options{Init: true}, []string{"tr"}, "", InitDest + " -- sh -c ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := testRuntime(t)
			spec := newSpec(t, rt, "sh", "-c", tt.script)
			spec.Options = tt.opts
			spec.User = tt.user
			if spec.Options.Init {
				spec.Options.InitPath = initBinary(t)
			}
			addApplets(t, &spec, tt.applets...)
			st := run(t, rt, spec)
			out := readLog(t, spec.Dir, "stdout")
			if st.ExitCode != 0 && !strings.Contains(tt.script, "||") {
				t.Errorf("exit %d (%s); stderr: %s", st.ExitCode, st.Error, readLog(t, spec.Dir, "stderr"))
			}
			if tt.contain && !strings.Contains(out, tt.want) || !tt.contain && out != tt.want {
				t.Errorf("stdout = %q, want %q; stderr: %s", out, tt.want, readLog(t, spec.Dir, "stderr"))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// zombiesOf lists the zombie processes of the container with this id.
func zombiesOf(id string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cg, _ := os.ReadFile(p + "/cgroup")
		st, _ := os.ReadFile(p + "/stat")
		if strings.Contains(string(cg), id) && strings.Contains(string(st), ") Z ") {
			out = append(out, p)
		}
	}
	return out
}

// TestInitReapsAndForwards: with init, orphans are reaped even when the
// command never waits (here it execs sleep), and SIGTERM reaches the
// command, whose exit code comes back.
func TestInitReapsAndForwards(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	initPath := initBinary(t)

	// The inner sh orphans two children that exit at once: they end up
	// with PID 1, which must reap them.
	reap := newSpec(t, rt, "sh", "-c", "sh -c 'sleep 0 & sleep 0 &'; echo ready; exec sleep 1000")
	reap.Options.Init = true
	reap.Options.InitPath = initPath
	if err := rt.Start(t.Context(), reap); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "ready", func() bool { return strings.Contains(readLog(t, reap.Dir, "stdout"), "ready") })
	testutil.Eventually(t, 10*time.Second, "no zombies in the container", func() bool { return len(zombiesOf(reap.ID)) == 0 })

	forward := newSpec(t, rt, "sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while true; do usleep 20000; done")
	forward.Options.Init = true
	forward.Options.InitPath = initPath
	addApplets(t, &forward, "usleep")
	if err := rt.Start(t.Context(), forward); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "ready", func() bool { return strings.Contains(readLog(t, forward.Dir, "stdout"), "ready") })
	if err := rt.Kill(t.Context(), forward.Dir, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := rt.Wait(ctx, forward.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExitCode != 7 || !strings.Contains(readLog(t, forward.Dir, "stdout"), "got-term") {
		t.Errorf("exit %d, stdout %q: SIGTERM not forwarded", st.ExitCode, readLog(t, forward.Dir, "stdout"))
	}
}

// TestIPCShareable: a container joining a shareable one's IPC namespace
// sees the same namespace and the same /dev/shm.
func TestIPCShareable(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	donor := newSpec(t, rt, "sh", "-c", "echo shared > /dev/shm/f; readlink /proc/self/ns/ipc; echo ready; sleep 60")
	donor.Options.IPCMode = "shareable"
	addApplets(t, &donor, "readlink")
	if err := rt.Start(t.Context(), donor); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "donor ready", func() bool { return strings.Contains(readLog(t, donor.Dir, "stdout"), "ready") })
	donorNS := strings.SplitN(readLog(t, donor.Dir, "stdout"), "\n", 2)[0]

	joiner := newSpec(t, rt, "sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/f")
	joiner.Options.IPCContainer = donor.Dir
	addApplets(t, &joiner, "readlink")
	run(t, rt, joiner)
	if got, want := readLog(t, joiner.Dir, "stdout"), donorNS+"\nshared\n"; got != want {
		t.Errorf("joiner saw %q, want %q (stderr %s)", got, want, readLog(t, joiner.Dir, "stderr"))
	}

	// pid: service:x shares the process list too.
	pid := newSpec(t, rt, "sh", "-c", "grep -l 'sleep' /proc/[0-9]*/cmdline | wc -l")
	pid.Options.PIDContainer = donor.Dir
	run(t, rt, pid)
	if n, _ := strconv.Atoi(strings.TrimSpace(readLog(t, pid.Dir, "stdout"))); n < 1 {
		t.Errorf("pid-sharing container does not see the donor's sleep: %q", readLog(t, pid.Dir, "stdout"))
	}
}

// TestCgroupParent: the container's cgroup goes under cgroup_parent.
func TestCgroupParent(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := testRuntime(t)
	parent := "compose-test-" + newID(t)[:8]
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		dirs = append(dirs, "/sys/fs/cgroup/"+parent)
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
	spec := newSpec(t, rt, "sleep", "60")
	spec.Options.CgroupParent = parent
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(spec.Dir)
	if err != nil || st.Pid == 0 {
		t.Fatalf("state %+v, %v", st, err)
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cgroup")
	if !strings.Contains(string(b), "/"+parent+"/"+spec.ID) {
		t.Errorf("cgroup of the container:\n%s\nwant under /%s", b, parent)
	}
}
