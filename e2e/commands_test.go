package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// commandsProject is a stack for the exec/run/lifecycle tests: web idles,
// trap reports the signals it gets, ticker counts in /tmp/count.
const commandsProject = `
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    depends_on: [trap]
  trap:
    image: busybox
    command: ["sh", "-c", "trap 'echo got USR1' USR1; echo trap ready; while true; do sleep 0.05; done"]
  ticker:
    image: busybox
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo $$i > /tmp/count; sleep 0.02; done"]
`

// newProject writes compose.yaml into a fresh dir, loads busybox and
// returns a CLI using a unique project name; the project is taken down at the end.
func newProject(t *testing.T, yaml string) *cli {
	t.Helper()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	c.env = append(c.env, "COMPOSE_PROJECT_NAME=cmd"+hex.EncodeToString(b))
	t.Cleanup(func() {
		if r := c.run("down", "-t", "0"); r.code != 0 {
			t.Logf("cleanup: compose down: %s", r)
		}
	})
	return c
}

func (c *cli) idOf(service string) string {
	c.t.Helper()
	for _, e := range c.ps() {
		if e.Service == service && !strings.Contains(e.Name, "-run-") {
			return e.ID
		}
	}
	return ""
}

func (c *cli) stateOf(service string) string {
	c.t.Helper()
	for _, e := range c.ps() {
		if e.Service == service && !strings.Contains(e.Name, "-run-") {
			return e.State
		}
	}
	return ""
}

func TestExec(t *testing.T) {
	t.Parallel()
	c := newProject(t, commandsProject)
	c.must("up", "-d", "web")

	tests := []struct {
		name string
		args []string
		out  string
		code int
	}{
		{"root by default", []string{"web", "id", "-u"}, "0\n", 0},
		{"user", []string{"-u", "1000:1000", "web", "id", "-u"}, "1000\n", 0},
		{"workdir", []string{"-w", "/tmp", "web", "pwd"}, "/tmp\n", 0},
		{"env", []string{"-e", "FOO=bar", "web", "sh", "-c", "echo $FOO"}, "bar\n", 0},
		{"exit code", []string{"web", "sh", "-c", "echo out; exit 3"}, "out\n", 3},
		{"command flags are the command's", []string{"web", "ls", "-d", "/tmp"}, "/tmp\n", 0},
		{"not found", []string{"web", "nosuch"}, "", 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(append([]string{"exec", "-T"}, tt.args...)...)
			if r.code != tt.code || r.stdout != tt.out {
				t.Errorf("exec %v: want exit %d and %q, got %s", tt.args, tt.code, tt.out, r)
			}
		})
	}

	t.Run("service not running", func(t *testing.T) {
		r := c.run("exec", "-T", "ticker", "true")
		if r.code != 1 || !strings.Contains(r.stderr, `service "ticker" is not running`) {
			t.Errorf("exec in a stopped service: %s", r)
		}
	})
	t.Run("detach", func(t *testing.T) {
		c.must("exec", "-d", "web", "sh", "-c", "sleep 0.2; echo done > /tmp/detached")
		testutil.Eventually(t, 10*time.Second, "the detached exec to finish", func() bool {
			return c.run("exec", "-T", "web", "cat", "/tmp/detached").stdout == "done\n"
		})
	})
}

// ptyOutput collects what the program under test writes to the terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *ptyOutput) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *ptyOutput) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// startInPTY runs compose with a terminal as its stdio and controlling tty.
func (c *cli) startInPTY(ctx context.Context, args ...string) (*exec.Cmd, *os.File, *ptyOutput) {
	c.t.Helper()
	master, slave := testutil.OpenPTY(c.t, 40, 123)
	cmd := c.command(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	slave.Close()
	out := &ptyOutput{}
	go func() { _, _ = copyUntilErr(out, master) }()
	return cmd, master, out
}

func copyUntilErr(dst *ptyOutput, src *os.File) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			dst.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestExecTTY: `exec -it` under a real terminal gets a tty of the same
// size, and Ctrl-C typed on the terminal reaches the process in the container.
func TestExecTTY(t *testing.T) {
	t.Parallel()
	c := newProject(t, commandsProject)
	c.must("up", "-d", "web")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	cmd, _, out := c.startInPTY(ctx, "exec", "web", "sh", "-c", "tty; stty size")
	err := cmd.Wait()
	testutil.Eventually(t, 5*time.Second, "tty output", func() bool { return strings.Contains(out.String(), "40 123") })
	if exitCodeOf(err) != 0 || !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("exec with a terminal: %v, output %q", err, out.String())
	}

	cmd, master, out := c.startInPTY(ctx, "exec", "-it", "web", "sh", "-c", `trap 'echo got INT; exit 7' INT; echo ready; while true; do sleep 0.05; done`)
	testutil.Eventually(t, 10*time.Second, "the exec to be ready", func() bool { return strings.Contains(out.String(), "ready") })
	if _, err := master.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if code := exitCodeOf(err); code != 7 {
		t.Errorf("after Ctrl-C: exit %d (%v), want 7; output %q", code, err, out.String())
	}
	testutil.Eventually(t, 5*time.Second, "the trap's output", func() bool { return strings.Contains(out.String(), "got INT") })
}

// TestRunTTY: `run` under a real terminal gets a tty, and Ctrl-C typed on
// the terminal reaches the container's process.
func TestRunTTY(t *testing.T) {
	t.Parallel()
	c := newProject(t, commandsProject)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd, master, out := c.startInPTY(ctx, "run", "--rm", "--no-deps", "web", "sh", "-c", `tty; trap 'echo got INT; exit 7' INT; echo ready; while true; do sleep 0.05; done`)
	testutil.Eventually(t, 10*time.Second, "the run to be ready", func() bool { return strings.Contains(out.String(), "ready") })
	if _, err := master.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := exitCodeOf(err); code != 7 {
		t.Errorf("after Ctrl-C: exit %d (%v), want 7; output %q", code, err, out.String())
	}
	if !strings.Contains(out.String(), "/dev/pts/") || !strings.Contains(out.String(), "got INT") {
		t.Errorf("run with a terminal: output %q", out.String())
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	c := newProject(t, commandsProject)

	r := c.run("run", "--rm", "web", "sh", "-c", "echo out; echo err >&2; exit 5")
	if r.code != 5 || r.stdout != "out\n" || !strings.Contains(r.stderr, "err\n") {
		t.Errorf("run --rm exit 5: %s", r)
	}
	for _, e := range c.ps() {
		if strings.Contains(e.Name, "-run-") {
			t.Errorf("run --rm left %s behind", e.Name)
		}
	}
	if c.stateOf("trap") != "running" {
		t.Errorf("run did not start the dependency trap: %+v", c.ps())
	}

	r = c.run("run", "--rm", "--entrypoint", "sh -c", "-e", "A=from-e", "-w", "/tmp", "-u", "65534", "web", "echo $A; pwd; id -u")
	if r.code != 0 || r.stdout != "from-e\n/tmp\n65534\n" {
		t.Errorf("run with --entrypoint -e -w -u: %s", r)
	}

	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in.txt"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = c.run("run", "--rm", "--no-deps", "-v", host+":/data:ro", "ticker", "sh", "-c", "cat /data/in.txt; touch /data/x || echo read-only")
	if r.code != 0 || r.stdout != "from host\nread-only\n" {
		t.Errorf("run -v :ro: %s", r)
	}

	r = c.must("run", "-d", "--name", "oneoff", "web", "sleep", "1000")
	if strings.TrimSpace(r.stdout) != "oneoff" {
		t.Errorf("run -d prints %q, want the container name", r.stdout)
	}
	found := false
	for _, e := range c.ps() {
		if e.Name == "oneoff" && e.State == "running" {
			found = true
		}
	}
	if !found {
		t.Errorf("run -d: oneoff is not running: %+v", c.ps())
	}
	if r := c.run("run", "-d", "--name", "oneoff", "web", "true"); r.code == 0 {
		t.Errorf("a second --name oneoff succeeded: %s", r)
	}
	// run -p works (e2e/ports_test.go); a bad spec fails before anything runs.
	if r := c.run("run", "--rm", "-p", "notaport:80", "web", "true"); r.code != 1 || !strings.Contains(r.stderr, "notaport") {
		t.Errorf("run -p with a bad port: %s", r)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	c := newProject(t, commandsProject)
	c.must("up", "-d")
	ids := map[string]string{}
	for _, s := range []string{"web", "trap", "ticker"} {
		ids[s] = c.idOf(s)
	}

	c.must("stop", "-t", "1", "web")
	if st := c.stateOf("web"); st != "exited" {
		t.Errorf("after stop web is %s", st)
	}
	c.must("start", "web")
	c.must("restart", "-t", "1", "--no-deps", "web")
	for s, id := range ids {
		if got := c.idOf(s); got != id {
			t.Errorf("%s changed ID across stop/start/restart: %s -> %s", s, id, got)
		}
		if st := c.stateOf(s); st != "running" {
			t.Errorf("%s is %s after restart", s, st)
		}
	}

	testutil.Eventually(t, 10*time.Second, "trap ready", func() bool { return strings.Contains(c.must("logs", "trap").stdout, "trap ready") })
	c.must("kill", "-s", "SIGUSR1", "trap")
	testutil.Eventually(t, 10*time.Second, "the trap to get SIGUSR1", func() bool { return strings.Contains(c.must("logs", "trap").stdout, "got USR1") })

	top := c.must("top", "web").stdout
	if !strings.Contains(top, "UID") || !strings.Contains(top, "sleep 1000") {
		t.Errorf("top web:\n%s", top)
	}

	stats := c.must("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}").stdout
	for _, s := range []string{"web", "trap", "ticker"} {
		if !strings.Contains(stats, "-"+s+"-1 ") {
			t.Errorf("stats lacks a row for %s:\n%s", s, stats)
		}
	}
	if table := c.must("stats", "--no-stream").stdout; !strings.Contains(table, "PIDS") || !strings.Contains(table, "MEM USAGE / LIMIT") {
		t.Errorf("stats table:\n%s", table)
	}

	count := func() string {
		out := filepath.Join(t.TempDir(), "count")
		c.must("cp", "ticker:/tmp/count", out)
		b, _ := os.ReadFile(out)
		return strings.TrimSpace(string(b))
	}
	c.must("pause", "ticker")
	if st := c.stateOf("ticker"); st != "paused" {
		t.Errorf("after pause ticker is %s", st)
	}
	frozen := count()
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		if got := count(); got != frozen {
			t.Fatalf("ticker counted while paused: %s -> %s", frozen, got)
		}
	}
	if r := c.run("exec", "-T", "ticker", "true"); r.code == 0 {
		t.Errorf("exec in a paused container succeeded")
	}
	c.must("unpause", "ticker")
	testutil.Eventually(t, 10*time.Second, "ticker to count again", func() bool { return count() != frozen })

	// rm leaves running containers alone, even with -f; -s stops them first.
	c.must("rm", "-f", "web")
	if c.idOf("web") == "" {
		t.Fatalf("rm -f removed the running web")
	}
	if r := c.run("rm", "web"); r.code != 0 || c.idOf("web") == "" {
		t.Errorf("rm of a running container: %s", r)
	}
	c.must("rm", "-s", "-f", "web")
	if id := c.idOf("web"); id != "" {
		t.Errorf("rm -s -f left web behind")
	}

	// wait prints each exit code (here 137 after SIGKILL) and exits with it.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	w := c.command(ctx, "wait", "ticker")
	var wout bytes.Buffer
	w.Stdout = &wout
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	c.must("kill", "ticker")
	err := w.Wait()
	if exitCodeOf(err) != 137 || !strings.Contains(wout.String(), "exited with status code 137") {
		t.Errorf("wait: %v, output %q", err, wout.String())
	}
}

func TestCp(t *testing.T) {
	t.Parallel()
	c := newProject(t, commandsProject)
	c.must("up", "-d", "web")
	src := t.TempDir()
	for name, content := range map[string]string{"dir/a.txt": "a\n", "dir/sub/b.txt": "b\n", "file.txt": "f\n"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inside := func(script string) string { return c.must("exec", "-T", "web", "sh", "-c", script).stdout }

	c.must("cp", filepath.Join(src, "file.txt"), "web:/tmp/copied.txt")
	c.must("cp", filepath.Join(src, "dir"), "web:/tmp/")      // nests: /tmp/dir
	c.must("cp", filepath.Join(src, "dir")+"/.", "web:/etc/") // contents: /etc/a.txt
	if got := inside("cat /tmp/copied.txt /tmp/dir/a.txt /tmp/dir/sub/b.txt /etc/a.txt /etc/sub/b.txt"); got != "f\na\nb\na\nb\n" {
		t.Errorf("copied into the container: %q", got)
	}

	out := t.TempDir()
	c.must("cp", "web:/tmp/dir", out)                           // into an existing dir: out/dir
	c.must("cp", "web:/tmp/dir", filepath.Join(out, "renamed")) // to a new name
	for _, p := range []string{"dir/a.txt", "dir/sub/b.txt", "renamed/a.txt", "renamed/sub/b.txt"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("copied out: %v", err)
		}
	}

	// A symlink in the container pointing at a host path resolves inside
	// the container's root: nothing is written on the host.
	victim := t.TempDir()
	inside("ln -s " + strings.Repeat("../", 12) + victim + " /tmp/escape; ln -s " + filepath.Join(victim, "f") + " /tmp/escapefile")
	c.run("cp", filepath.Join(src, "file.txt"), "web:/tmp/escape/pwned")
	c.run("cp", filepath.Join(src, "file.txt"), "web:/tmp/escapefile")
	c.run("cp", filepath.Join(src, "dir"), "web:/tmp/escape/")
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Errorf("cp wrote outside the container: %v", ents)
	}
}
