package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain makes the test binary the Exe: libcontainer's init, the full
// binary's __create, __cleanup and __exec-health, and a helper that starts
// a container and exits. The lean supervisor is the real one, built once.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 {
		ctx := context.Background()
		switch os.Args[1] {
		case CreateArg:
			dir := os.Args[2]
			if err := Create(ctx, dir, testHooks(dir)); err != nil {
				os.Exit(1)
			}
			os.Exit(0)
		case CleanupArg:
			dir := os.Args[2]
			if err := Cleanup(ctx, dir, testHooks(dir)); err != nil {
				os.Exit(1)
			}
			os.Exit(0)
		case ExecHealthArg:
			os.Exit(ExecHealth(ctx, os.Args[2], os.Args[3:]))
		case "__start_and_exit":
			// argv: __start_and_exit <exe> <supervisor> <rundir> <dir>
			spec, err := ReadSpec(os.Args[5])
			if err == nil {
				rt := &Runtime{Exe: os.Args[2], Supervisor: os.Args[3], RunDir: os.Args[4]}
				err = rt.Start(ctx, spec)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	InitIfRequested()
	code := m.Run()
	if supervisorDir != "" {
		os.RemoveAll(supervisorDir)
	}
	os.Exit(code)
}

var (
	supervisorOnce sync.Once
	supervisorDir  string
	supervisorBin  string
	supervisorErr  error
)

// supervisorBinary builds cmd/compose-supervisor once per test run.
func supervisorBinary(t testing.TB) string {
	t.Helper()
	supervisorOnce.Do(func() {
		supervisorDir, supervisorErr = os.MkdirTemp("", "compose-supervisor-")
		if supervisorErr != nil {
			return
		}
		supervisorBin = filepath.Join(supervisorDir, SupervisorName)
		cmd := exec.Command("go", "build", "-o", supervisorBin, "github.com/composer-dev/compose/cmd/compose-supervisor")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			supervisorErr = fmt.Errorf("build supervisor: %v\n%s", err, out)
		}
	})
	if supervisorErr != nil {
		t.Fatal(supervisorErr)
	}
	return supervisorBin
}

// testHooks fail Prepare when Dir/fail-prepare exists, and leave
// Dir/cleanup.done behind when Cleanup ran.
func testHooks(dir string) Hooks {
	return Hooks{
		Prepare: func(ctx context.Context, spec *Spec) error {
			if b, err := os.ReadFile(filepath.Join(dir, "fail-prepare")); err == nil {
				return errors.New(string(b))
			}
			return nil
		},
		Cleanup: func(ctx context.Context, spec *Spec) error {
			return os.WriteFile(filepath.Join(dir, "cleanup.done"), nil, 0o644)
		},
	}
}

func newID(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// busyboxApplets are linked into the test image.
var busyboxApplets = []string{"sh", "echo", "sleep", "cat", "id", "hostname", "true", "false", "ls", "pwd", "env", "wc", "grep", "mknod", "head", "stty"}

// busyboxLayer builds a minimal image layer from Debian's busybox-static.
func busyboxLayer(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	dir := filepath.Join(t.TempDir(), "layer")
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(dir, "bin", "busybox")
	if err := os.Link("/bin/busybox", bb); err != nil {
		data, err := os.ReadFile("/bin/busybox")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bb, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testRuntime returns a runtime whose RunDir is private to the test.
func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Runtime{Exe: exe, Supervisor: supervisorBinary(t), RunDir: t.TempDir()}
}

// newSpec returns a spec for a busybox container with its own Dir; the
// container is stopped and removed when the test ends.
func newSpec(t testing.TB, rt *Runtime, args ...string) Spec {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ctr")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := Spec{ID: newID(t), Name: t.Name(), Dir: dir, Args: args, Lower: []string{busyboxLayer(t)}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = rt.Stop(ctx, dir, 0)
		if err := rt.Remove(ctx, dir); err != nil {
			t.Errorf("cleanup: remove: %v", err)
		}
	})
	return spec
}

// run starts spec and waits for it to exit.
func run(t *testing.T, rt *Runtime, spec Spec) State {
	t.Helper()
	if err := rt.Start(t.Context(), spec); err != nil {
		t.Fatalf("start: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st, err := rt.Wait(ctx, spec.Dir)
	if err != nil {
		t.Fatalf("wait: %v (state %+v)", err, st)
	}
	return st
}

// readLog returns what the container wrote to stream, from its json-file log.
func readLog(t testing.TB, dir, stream string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*-json.log"))
	if len(files) == 0 {
		return ""
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	dec := json.NewDecoder(f)
	for dec.More() {
		var rec struct{ Log, Stream string }
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("log %s: %v", files[0], err)
		}
		if rec.Stream == stream {
			out.WriteString(rec.Log)
		}
	}
	return out.String()
}

// leftovers lists what of the container remains on the host: mounts under
// dir, cgroup dirs, and processes mentioning dir or in its cgroup.
func leftovers(dir, id string) []string {
	var out []string
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], resolvedPath(dir)) {
			out = append(out, "mount "+f[4])
		}
	}
	for _, pat := range []string{"/sys/fs/cgroup/*/compose/" + id, "/sys/fs/cgroup/compose/" + id} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			out = append(out, "cgroup "+p)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cg, _ := os.ReadFile(p + "/cgroup")
		cmd, _ := os.ReadFile(p + "/cmdline")
		st, _ := os.ReadFile(p + "/stat")
		if strings.Contains(string(st), ") Z ") {
			continue // a zombie is gone; only its parent's bookkeeping is left
		}
		if strings.Contains(string(cg), id) || strings.Contains(string(cmd), dir) {
			out = append(out, "process "+p+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}
