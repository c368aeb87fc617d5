package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startWatch runs `compose ARGS...` (watch, or up --watch) until the test
// ends and waits for its "Watch enabled" line.
func (c *cli) startWatch(t *testing.T, args ...string) *stream {
	t.Helper()
	s := c.start(context.Background(), args...) // stopped by the cleanup, with Ctrl-C
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
		}
	})
	s.waitOut(t, time.Minute, "Watch enabled", 1)
	return s
}

// sh runs a shell command in the service's container and returns its
// output (and whether it exited 0).
func (c *cli) sh(service, script string) (string, bool) {
	c.t.Helper()
	r := c.run("exec", "-T", service, "sh", "-c", script)
	return r.stdout, r.code == 0
}

// waitSh waits until script prints want in the service's container.
func (c *cli) waitSh(t *testing.T, service, script, want string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := c.sh(service, script)
		if last = strings.TrimSpace(out); last == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("in %s, `%s` printed %q; want %q", service, script, last, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchSync: sync copies saved files straight into the container
// (missing directories made, modes kept, owned by the container's user,
// symlinks as links), removes deleted ones, skips ignored ones, and writes
// into a volume when the target lies in one.
func TestWatchSync(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    user: "1000:1000"
    init: true
    command: ["sleep", "3600"]
    volumes:
      - data:/data
    develop:
      watch:
        - path: ./src
          target: /app
          action: sync
          ignore: ["*.tmp", "cache/"]
        - path: ./vol
          target: /data/synced
          action: sync
volumes:
  data:
`)
	os.MkdirAll(filepath.Join(c.dir, "src"), 0o755)
	os.MkdirAll(filepath.Join(c.dir, "vol"), 0o755)
	s := c.startWatch(t, "watch")

	writeFiles(t, filepath.Join(c.dir, "src"), map[string]string{"a.txt": "one", "sub/deep/b.txt": "deep"})
	os.Chmod(filepath.Join(c.dir, "src", "a.txt"), 0o640)
	c.waitSh(t, "app", "cat /app/a.txt /app/sub/deep/b.txt", "onedeep")
	if out, _ := c.sh("app", "stat -c '%u:%g %a' /app/a.txt /app/sub/deep /app"); out != "1000:1000 640\n1000:1000 755\n1000:1000 755\n" {
		t.Errorf("owner and mode of the copies:\n%s", out)
	}

	// Symlinks are copied as links, never followed.
	os.Symlink("a.txt", filepath.Join(c.dir, "src", "rel"))
	os.Symlink("/etc", filepath.Join(c.dir, "src", "abs"))
	c.waitSh(t, "app", "readlink /app/rel; readlink /app/abs", "a.txt\n/etc")

	// Ignored files never arrive: a later file that does is the proof.
	writeFiles(t, filepath.Join(c.dir, "src"), map[string]string{"x.tmp": "no", "cache/y": "no", ".a.txt.swp": "no", "a.txt~": "no"})
	writeFiles(t, filepath.Join(c.dir, "src"), map[string]string{"after.txt": "after"})
	c.waitSh(t, "app", "cat /app/after.txt", "after")
	if out, _ := c.sh("app", "ls -a /app"); strings.Contains(out, "tmp") || strings.Contains(out, "cache") || strings.Contains(out, "swp") || strings.Contains(out, "~") {
		t.Errorf("ignored files arrived:\n%s", out)
	}

	// A change replaces the content; a deletion propagates.
	writeFiles(t, filepath.Join(c.dir, "src"), map[string]string{"sub/deep/b.txt": "changed"})
	c.waitSh(t, "app", "cat /app/sub/deep/b.txt", "changed")
	os.Remove(filepath.Join(c.dir, "src", "a.txt"))
	os.RemoveAll(filepath.Join(c.dir, "src", "sub"))
	c.waitSh(t, "app", "ls /app/a.txt /app/sub 2>/dev/null; echo gone", "gone")

	// The target is in a volume: the file lands in the volume.
	writeFiles(t, filepath.Join(c.dir, "vol"), map[string]string{"v.txt": "in the volume"})
	c.waitSh(t, "app", "cat /data/synced/v.txt", "in the volume")
	vol := filepath.Join(c.root, "volumes", c.project()+"_data", "_data", "synced", "v.txt")
	if b, err := os.ReadFile(vol); err != nil || string(b) != "in the volume" {
		t.Errorf("the volume on the host has %q, %v", b, err)
	}
	if !strings.Contains(strings.Join(s.stdout(), "\n"), `Syncing service "app" after `) {
		t.Errorf("no Syncing line:\n%s", s)
	}
}

// TestWatchRestartAndExecOncePerBatch: several files saved at once
// restart the service once (sync+restart) and run the sync+exec command
// once; a later save is a new batch.
func TestWatchRestartAndExecOncePerBatch(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    init: true
    command: ["sh", "-c", "echo started; exec sleep 3600"]
    develop:
      watch:
        - path: ./conf
          target: /conf
          action: sync+restart
        - path: ./hook
          target: /hook
          action: sync+exec
          exec:
            command: ["sh", "-c", "echo ran >> /tmp/execs; echo exec-done $$(cat /hook/*) $$GREETING $$(pwd) $$(id -u)"]
            user: "1000"
            working_dir: /tmp
            environment:
              GREETING: hi
        - path: ./restart.txt
          action: restart
`)
	os.MkdirAll(filepath.Join(c.dir, "conf"), 0o755)
	os.MkdirAll(filepath.Join(c.dir, "hook"), 0o755)
	s := c.startWatch(t, "watch")

	writeFiles(t, filepath.Join(c.dir, "conf"), map[string]string{"a": "1", "b": "2", "c": "3"})
	s.waitOut(t, time.Minute, `service(s) ["app"] restarted`, 1)
	writeFiles(t, filepath.Join(c.dir, "conf"), map[string]string{"d": "4"}) // the next batch
	s.waitOut(t, time.Minute, `service(s) ["app"] restarted`, 2)
	// The restarted container's echo reaches the log a moment after the
	// restart returns: wait for it, then check nothing more came.
	starts := func() int { return strings.Count(c.must("logs", "app").stdout, "started") }
	testutil.Eventually(t, 30*time.Second, "the second restart's output", func() bool { return starts() >= 3 })
	if n, r := starts(), s.count(`service(s) ["app"] restarted`); n != 3 || r != 2 {
		t.Errorf("the container started %d times (%d restarts), want 3 (up, then once per batch)", n, r)
	}
	if out, _ := c.sh("app", "cat /conf/a /conf/d"); out != "14" {
		t.Errorf("synced before the restart: %q", out)
	}

	writeFiles(t, filepath.Join(c.dir, "hook"), map[string]string{"1": "x", "2": "y", "3": "z"})
	s.waitOut(t, time.Minute, "exec-done xyz hi /tmp 1000", 1)
	writeFiles(t, filepath.Join(c.dir, "hook"), map[string]string{"4": "w"})
	s.waitOut(t, time.Minute, "exec-done xyzw hi /tmp 1000", 1)
	if out, _ := c.sh("app", "wc -l < /tmp/execs"); strings.TrimSpace(out) != "2" {
		t.Errorf("sync+exec ran %s times for two batches", strings.TrimSpace(out))
	}
	if n := s.count("exec-done"); n != 2 {
		t.Errorf("%d exec-done lines, want 2\n%s", n, s)
	}

	// restart: a file that did not exist when the watch began.
	writeFiles(t, c.dir, map[string]string{"restart.txt": "now"})
	s.waitOut(t, time.Minute, `service(s) ["app"] restarted`, 3)
	testutil.Eventually(t, 30*time.Second, "the third restart's output", func() bool { return starts() >= 4 })
	if n := starts(); n != 4 {
		t.Errorf("the container started %d times, want 4", n)
	}
}

// TestWatchRebuild: a Dockerfile change rebuilds the image (cached steps
// reused), recreates only that service, restarts its dependents with
// restart: true and prunes the replaced image; a failed build leaves the
// running container alone and says why.
func TestWatchRebuild(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    build: .
    init: true
    command: ["sh", "-c", "cat /version; exec sleep 3600"]
    develop:
      watch:
        - path: ./Dockerfile
          action: rebuild
  dep:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    depends_on:
      app:
        condition: service_started
        restart: true
  other:
    image: busybox
    init: true
    command: ["sleep", "3600"]
`)
	dockerfile := filepath.Join(c.dir, "Dockerfile")
	writeFiles(t, c.dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo base > /base\nRUN echo v1 > /version\n"})
	s := c.startWatch(t, "watch")
	c.waitSh(t, "app", "cat /version", "v1")
	appID, depID, otherID := c.idOf("app"), c.idOf("dep"), c.idOf("other")
	depStart, otherStart := c.containerStart(depID), c.containerStart(otherID)
	oldImage := strings.TrimSpace(c.must("images", "-q", "app").stdout)

	os.WriteFile(dockerfile, []byte("FROM busybox\nRUN echo base > /base\nRUN echo v2 > /version\n"), 0o644)
	s.waitOut(t, time.Minute, `service(s) ["app"] successfully built`, 1)
	c.waitSh(t, "app", "cat /version", "v2")
	out := strings.Join(s.stdout(), "\n")
	for _, want := range []string{`Rebuilding service(s) ["app"] after changes were detected...`, "RUN echo base > /base", "CACHED", "RUN echo v2 > /version"} {
		if !strings.Contains(out, want) {
			t.Errorf("watch output lacks %q:\n%s", want, s)
		}
	}
	if c.idOf("app") == appID {
		t.Error("app was not recreated")
	}
	if c.idOf("dep") != depID || c.idOf("other") != otherID {
		t.Error("a service that was not rebuilt was recreated")
	}
	testutil.Eventually(t, 30*time.Second, "dep restarted (restart: true)", func() bool { return c.containerStart(depID).After(depStart) })
	if !c.containerStart(otherID).Equal(otherStart) {
		t.Error("other was restarted")
	}
	if imgs := c.must("image", "ls", "-q").stdout; strings.Contains(imgs, oldImage) {
		t.Errorf("the replaced image %s was not pruned:\n%s", oldImage, imgs)
	}

	// A failing build: the running container stays.
	running := c.idOf("app")
	os.WriteFile(dockerfile, []byte("FROM busybox\nRUN exit 3\n"), 0o644)
	s.waitOut(t, time.Minute, "Build failed. Error: ", 1)
	testutil.Eventually(t, 30*time.Second, "the build failure's warning", func() bool {
		return strings.Contains(s.String(), "Error handling changed files: ")
	})
	if c.idOf("app") != running || c.stateOf("app") != "running" {
		t.Errorf("a failed build touched the running container: %s", c.stateOf("app"))
	}
	c.waitSh(t, "app", "cat /version", "v2")
}

// TestWatchInitialSync: initial_sync copies the tree before the watch
// starts (not the Dockerfile or compose files), on a stack `up` started
// (watch --no-up).
func TestWatchInitialSync(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: .
          target: /app
          action: sync
          initial_sync: true
          ignore: [skip/]
`)
	writeFiles(t, c.dir, map[string]string{"a.txt": "a", "lib/b.txt": "b", "Dockerfile": "FROM x", "skip/c.txt": "c"})
	c.must("up", "-d")
	s := c.startWatch(t, "watch", "--no-up")
	if strings.Contains(s.String(), "Container") {
		t.Errorf("watch --no-up ran up:\n%s", s)
	}
	if out, _ := c.sh("app", "cd /app && find . -type f | sort"); out != "./a.txt\n./lib/b.txt\n" {
		t.Errorf("after the initial sync /app holds:\n%s", out)
	}
}

// TestWatchStorm: a thousand files changed at once make one action.
func TestWatchStorm(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./src
          target: /app
          action: sync
`)
	os.MkdirAll(filepath.Join(c.dir, "src"), 0o755)
	s := c.startWatch(t, "watch")
	for i := range 1000 {
		if err := os.WriteFile(filepath.Join(c.dir, "src", fmt.Sprintf("f%04d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.waitOut(t, time.Minute, `Syncing service "app" after 1000 changes were detected`, 1)
	c.waitSh(t, "app", "ls /app | wc -l", "1000")
	if n := s.count("Syncing service"); n != 1 {
		t.Errorf("%d actions for one storm:\n%s", n, s)
	}
}

// TestUpWatch: `up --watch` interleaves the containers' logs with the
// watch's lines (marked as Compose marks them), and Ctrl-C ends the watch
// and stops the stack.
func TestUpWatch(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    init: true
    command: ["sh", "-c", "echo hello; exec sleep 3600"]
    develop:
      watch:
        - path: ./src
          target: /app
          action: sync
`)
	os.MkdirAll(filepath.Join(c.dir, "src"), 0o755)
	s := c.startWatch(t, "up", "--watch", "--no-color")
	s.waitOut(t, time.Minute, "app-1   | hello", 1)
	writeFiles(t, filepath.Join(c.dir, "src"), map[string]string{"a.txt": "a"})
	// Docker Compose's marks: the width of the widest name ("#watch" or
	// "app-1") plus one, then " ⦿ ".
	s.waitOut(t, time.Minute, `        ⦿ Syncing service "app" after 1 changes were detected`, 1)
	c.waitSh(t, "app", "cat /app/a.txt", "a")
	out := s.stdout()
	if len(out) < 2 || out[0] != "        ⦿ Watch enabled" || out[1] != "Attaching to app-1" {
		t.Errorf("up --watch began with:\n%s", s)
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.exit(t, time.Minute); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130\n%s", code, s)
	}
	if !strings.Contains(s.String(), "⦿ Watch disabled") {
		t.Errorf("no Watch disabled line:\n%s", s)
	}
	if st := c.stateOf("app"); st != "exited" {
		t.Errorf("app is %s after Ctrl-C", st)
	}
}

// TestWatchErrors: Docker Compose's refusals, each one line naming what
// is at fault.
func TestWatchErrors(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  plain:
    image: busybox
    command: ["sleep", "3600"]
  norebuild:
    image: busybox
    profiles: [bad]
    develop:
      watch:
        - path: .
          action: rebuild
`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "plain"}, "none of the selected services is configured for watch, consider setting a 'develop' section"},
		{[]string{"up", "--watch", "plain"}, "none of the selected services is configured for watch, see https://docs.docker.com/compose/how-tos/file-watch/"},
		{[]string{"up", "--watch", "-d"}, "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"},
		{[]string{"up", "--watch", "--no-build"}, "--no-build and --watch are incompatible"},
		{[]string{"watch", "norebuild"}, `can't watch service "norebuild" with action rebuild without a build context`},
		{[]string{"watch", "nosuch"}, "no such service: nosuch"},
	} {
		r := c.run(tc.args...)
		if r.code != 1 || strings.TrimSpace(r.stderr) != tc.want {
			t.Errorf("%v: want exit 1 with %q, got %s", tc.args, tc.want, r)
		}
	}
	if ps := c.ps(); len(ps) != 0 {
		t.Errorf("a refused command created containers: %v", ps)
	}
}

// TestWatchExample: examples/watch, run as its README says, serves the
// page over a published port, and an edit of the page is served at once.
func TestWatchExample(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = filepath.Join(t.TempDir(), "watch") // a copy: the test edits it
	if err := os.CopyFS(c.dir, os.DirFS(filepath.Join(repoRoot, "examples", "watch"))); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	c.env = append(c.env, fmt.Sprintf("WEB_PORT=%d", port))
	t.Cleanup(func() { c.run("down", "-t", "0", "--rmi", "local") })
	c.startWatch(t, "watch")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	get := func() string {
		resp, err := http.Get(url)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	testutil.Eventually(t, 30*time.Second, "the example's page", func() bool { return strings.Contains(get(), "Hello from compose watch") })
	page := filepath.Join(c.dir, "site", "index.html")
	os.WriteFile(page, []byte("<h1>Edited</h1>\n"), 0o644)
	testutil.Eventually(t, 30*time.Second, "the edited page", func() bool { return get() == "<h1>Edited</h1>\n" })
}
