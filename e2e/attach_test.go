package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// TestUpAttachedAndCtrlC: `up` streams every container's output with
// Compose's prefixes, names resolve by service and container name, and
// Ctrl-C stops the stack gracefully (SIGTERM reaches the container) and exits 130.
func TestUpAttachedAndCtrlC(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = filepath.Join(repoRoot, "e2e", "testdata", "attach") // project name "attach" from the folder
	t.Cleanup(func() { c.run("down", "-t", "1") })

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	up := c.command(ctx, "up", "--no-color")
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	up.Stderr = &stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), "probe-1 exited with code") {
			break
		}
	}
	for _, want := range []string{"web-1    | web up", "probe-1  | web resolves", "probe-1  | container name resolves", "probe-1  | nosuch unknown", "probe-1  | etc files ok", "probe-1 exited with code 0"} {
		if !contains(seen, want) {
			t.Errorf("attached output lacks %q:\n%s", want, strings.Join(seen, "\n"))
		}
	}
	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	err = up.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("up after Ctrl-C: want exit 130, got %v\nstderr:\n%s", err, stderr.String())
	}
	if !contains(seen, "web-1    | got TERM") || !contains(seen, "web-1 exited with code 0") {
		t.Errorf("web was not stopped with SIGTERM:\n%s", strings.Join(seen, "\n"))
	}
	if !strings.Contains(stderr.String(), "Gracefully stopping...") {
		t.Errorf("stderr lacks the graceful stop notice:\n%s", stderr.String())
	}
	for _, e := range c.ps() {
		if e.State != "exited" {
			t.Errorf("%s is %s after Ctrl-C, want exited", e.Name, e.State)
		}
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// TestConfigAndVersion need no root: the loader's commands work for anyone.
func TestConfigAndVersion(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.dir = filepath.Join(repoRoot, "examples", "hello")
	if got := c.must("config", "--services").stdout; got != "client\nweb\n" {
		t.Errorf("config --services: %q", got)
	}
	if r := c.must("config", "-q"); r.stdout != "" {
		t.Errorf("config -q printed %q", r.stdout)
	}
	js := c.must("config", "--format", "json").stdout
	if !strings.Contains(js, `"name": "hello"`) || !strings.Contains(js, `"hello_default"`) {
		t.Errorf("config json:\n%s", js)
	}
	yml := c.must("config").stdout
	if !strings.HasPrefix(yml, "name: hello\n") || !strings.Contains(yml, "image: busybox") {
		t.Errorf("config yaml:\n%s", yml)
	}
	c.env = append(c.env, "COMPOSE_PROJECT_NAME=other")
	if !strings.HasPrefix(c.must("config").stdout, "name: other\n") {
		t.Error("COMPOSE_PROJECT_NAME ignored")
	}
	if !strings.HasPrefix(c.must("-p", "third", "config").stdout, "name: third\n") {
		t.Error("-p ignored")
	}
	if got := c.must("version", "--short").stdout; strings.TrimSpace(got) == "" {
		t.Error("version --short printed nothing")
	}
}

// TestImageLoadFromStdin: `image load` reads an archive from standard input.
func TestImageLoadFromStdin(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	f, err := os.Open(busyboxImage)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := c.command(t.Context(), "image", "load")
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Loaded image: busybox:latest") {
		t.Fatalf("image load < archive: %v\n%s", err, out)
	}
	ls := c.must("image", "ls").stdout
	if !strings.HasPrefix(ls, "REPOSITORY") || !strings.Contains(ls, "busybox ") || !strings.Contains(ls, "latest") {
		t.Errorf("image ls:\n%s", ls)
	}
}

// TestSecondCtrlCKills: with a 60 s grace period and a container that
// ignores SIGTERM, the second Ctrl-C must end `up` long before the grace ends.
func TestSecondCtrlCKills(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = filepath.Join(repoRoot, "e2e", "testdata", "stubborn")
	t.Cleanup(func() { c.run("down", "-t", "0") })

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // well under the 60 s grace
	defer cancel()
	up := c.command(ctx, "up", "--no-color", "-t", "60")
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := up.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	outLines, errLines := bufio.NewScanner(stdout), bufio.NewScanner(stderr)
	waitLine(t, outLines, "ignoring TERM")
	up.Process.Signal(syscall.SIGINT)
	waitLine(t, errLines, "Gracefully stopping")
	waitLine(t, errLines, "Stopping")
	up.Process.Signal(syscall.SIGINT)
	go io.Copy(io.Discard, stdout)
	go io.Copy(io.Discard, stderr)
	if err := up.Wait(); ctx.Err() != nil {
		t.Fatalf("up still running after the second Ctrl-C: %v", err)
	}
	for _, e := range c.ps() {
		if e.State != "exited" {
			t.Errorf("%s is %s after the second Ctrl-C", e.Name, e.State)
		}
	}
}

// waitLine scans until a line contains want (bounded by the caller's ctx).
func waitLine(t *testing.T, sc *bufio.Scanner, want string) {
	t.Helper()
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	t.Fatalf("stream ended before a line with %q", want)
}
