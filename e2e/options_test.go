package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// optionsStack exercises the service options that shape a container; each
// service prints what proves its options from the inside, then idles.
const optionsStack = `
services:
  security:
    image: busybox
    command: ["sh", "-c", "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; id -G; sleep 1000"]
    cap_add: [NET_ADMIN]
    cap_drop: [CHOWN]
    group_add: ["1234"]
    security_opt: ["no-new-privileges:true", "label=disable"]
  limits:
    image: busybox
    command: ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; echo nofile $$(ulimit -n) $$(ulimit -Hn); grep ' /dev/shm ' /proc/mounts; echo oom $$(cat /proc/self/oom_score_adj); echo somaxconn $$(cat /proc/sys/net/core/somaxconn); sleep 1000"]
    mem_limit: 64m
    pids_limit: 50
    cpus: 0.5
    ulimits:
      nofile: {soft: 1000, hard: 2000}
    shm_size: 16m
    oom_score_adj: 200
    sysctls:
      net.core.somaxconn: 77
  fs:
    image: busybox
    command: ["sh", "-c", "(echo x > /file) 2>/dev/null || echo read-only root; echo y > /scratch/f && grep ' /scratch ' /proc/mounts; sleep 1000"]
    read_only: true
    tmpfs: ["/scratch:size=1m"]
  init:
    image: busybox
    command: ["sh", "-c", "echo pid1 $$(tr '\\0' ' ' < /proc/1/cmdline); sleep 1000"]
    init: true
    domainname: example.com
  donor:
    image: busybox
    command: ["sh", "-c", "echo shared > /dev/shm/f; echo donor ready; sleep 1000"]
    ipc: shareable
  joiner:
    image: busybox
    command: ["sh", "-c", "until [ -e /dev/shm/f ]; do sleep 0.05; done; echo joined $$(cat /dev/shm/f); sleep 1000"]
    ipc: service:donor
    depends_on: [donor]
`

func TestServiceOptions(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(optionsStack), 0o644); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	c.env = append(c.env, "COMPOSE_PROJECT_NAME=opts"+hex.EncodeToString(b))
	t.Cleanup(func() { c.run("down", "-t", "0") })

	up := c.must("up", "-d")
	if !strings.Contains(up.stderr, `service "security": security_opt "label=disable" is ignored`) {
		t.Errorf("up did not warn about label=disable:\n%s", up.stderr)
	}

	// CapEff: Docker's default set + NET_ADMIN - CHOWN.
	want := map[string][]string{
		"security": {"CapEff:\t00000000a80435fa", "NoNewPrivs:\t1", "Seccomp:\t2", "0 1234"},
		"limits":   {"67108864", "50", "nofile 1000 2000", "size=16384k", "oom 200", "somaxconn 77"},
		"fs":       {"read-only root", "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k"},
		"init":     {"pid1 /sbin/docker-init -- sh -c"},
		"joiner":   {"joined shared"},
	}
	for svc, lines := range want {
		testutil.Eventually(t, 30*time.Second, svc+"'s output", func() bool {
			out := c.run("logs", "--no-log-prefix", svc).stdout
			for _, l := range lines {
				if !strings.Contains(out, l) {
					return false
				}
			}
			return true
		})
	}
	for _, e := range c.ps() {
		if e.State != "running" {
			t.Errorf("%s is %s", e.Name, e.State)
		}
	}
}

// TestServiceOptionErrors: options the engine cannot honour stop `up` with
// a one-line message naming the service and the option.
func TestServiceOptionErrors(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = t.TempDir()
	tests := []struct{ name, yaml, msg string }{
		{"runtime", "services:\n  a:\n    image: busybox\n    runtime: nvidia\n", `service "a": runtime "nvidia" is not supported`},
		{"sysctl", "services:\n  a:\n    image: busybox\n    sysctls: {vm.swappiness: 1}\n", `service "a": sysctl "vm.swappiness" is not namespaced`},
		{"platform", "services:\n  a:\n    image: busybox\n    platform: windows/amd64\n", `service "a": platform "windows/amd64" is not this host's`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(c.dir, tt.name+".yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			proj := []string{"-f", file, "-p", "opterr-" + tt.name}
			t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
			r := c.run(append(proj, "up", "-d")...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("want a failure with %q, got %s", tt.msg, r)
			}
		})
	}
}
