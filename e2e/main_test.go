// Package e2e drives the built compose binary on real projects, as a user
// would: real containers, bridges, DNS and HTTP on this kernel (root).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/internal/busybox"
)

var (
	binary       string // the compose binary under test
	busyboxImage string // docker-archive of busybox:latest
	repoRoot     string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	tmp, err := os.MkdirTemp("", "compose-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755) // the not-root test runs the binary as nobody
	binary = filepath.Join(tmp, "compose")
	build := exec.Command("go", "build", "-tags", "seccomp", "-o", binary, "./cmd/compose")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build compose: %v\n%s", err, out)
		return 1
	}
	// The lean per-container supervisor, found beside the binary.
	buildSup := exec.Command("go", "build", "-o", filepath.Join(tmp, "compose-supervisor"), "./cmd/compose-supervisor")
	buildSup.Dir = repoRoot
	buildSup.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := buildSup.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build compose-supervisor: %v\n%s", err, out)
		return 1
	}
	// The static init for `init: true`, next to the binary where it looks.
	buildInit := exec.Command("go", "build", "-o", filepath.Join(tmp, "compose-init"), "./cmd/compose-init")
	buildInit.Dir = repoRoot
	buildInit.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := buildInit.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build compose-init: %v\n%s", err, out)
		return 1
	}
	busyboxImage = filepath.Join(tmp, "busybox.tar")
	if err := busybox.WriteDockerArchive(busyboxImage, "busybox:latest"); err != nil {
		fmt.Fprintln(os.Stderr, "busybox image:", err)
		return 1
	}
	code := m.Run()
	// Whatever the tests did, no process of this binary (a supervisor or a
	// DNS server of some test's root) may outlive them.
	deadline := time.Now().Add(10 * time.Second)
	for left := processesMentioning(tmp); len(left) > 0; left = processesMentioning(tmp) {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "processes left behind by the e2e tests: %v\n", left)
			return 1
		}
		time.Sleep(100 * time.Millisecond)
	}
	return code
}

// cli runs the binary against one state root.
type cli struct {
	t    *testing.T
	root string
	dir  string // working directory
	env  []string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	root := t.TempDir()
	// Registered first, so it runs last. The product removes the runtime
	// dir once the root is empty (TestLeakRunDirAndLocks and assertClean
	// prove it); this is only a safety net for a test that failed midway.
	t.Cleanup(func() { os.RemoveAll(engine.RunDir(root)) })
	return &cli{t: t, root: root, dir: repoRoot, env: []string{"COMPOSE_ROOT=" + root}}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func (c *cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	return cmd
}

// run runs compose to completion (bounded by a minute).
func (c *cli) run(args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // also used from t.Cleanup, after t.Context ends
	defer cancel()
	cmd := c.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("compose %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// must runs compose and fails the test unless it exits 0.
func (c *cli) must(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("compose %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func (c *cli) loadBusybox() {
	c.t.Helper()
	r := c.must("image", "load", "-i", busyboxImage)
	if !strings.Contains(r.stdout, "Loaded image: busybox:latest") {
		c.t.Fatalf("image load: %s", r)
	}
}

type psEntry struct {
	ID, Name, Service, State, Project string
}

func (c *cli) ps(args ...string) []psEntry {
	c.t.Helper()
	r := c.must(append(args, "ps", "-a", "--format", "json")...)
	var out []psEntry
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var e psEntry
		if err := dec.Decode(&e); err != nil {
			c.t.Fatalf("ps json: %v\n%s", err, r.stdout)
		}
		out = append(out, e)
	}
	return out
}

// composeCmd prepares the compose binary for a benchmark (no *cli, no testing.T).
func composeCmd(root, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COMPOSE_ROOT="+root)
	return cmd
}
