package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/registrytest"
	"github.com/composer-dev/compose/internal/testutil"
)

// statusProject: "run" idles, "done" exits 0 at once.
const statusProject = `
services:
  run:
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; sleep 600 & wait']
  done:
    image: busybox
    command: ["true"]
`

func (c *cli) writeCompose(yaml string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestPsOptions: --services, --status, --filter, templates, json fields,
// --no-trunc and --orphans, as Docker Compose has them.
func TestPsOptions(t *testing.T) {
	t.Parallel()
	c := newProject(t, statusProject)
	t.Cleanup(func() { c.run("down", "-t", "0", "--remove-orphans") })
	c.must("up", "-d")
	testutil.Eventually(t, 20*time.Second, "done to exit", func() bool { return c.stateOf("done") == "exited" })

	if got := lines(c.must("ps", "--services").stdout); !slices.Equal(got, []string{"run"}) {
		t.Errorf("ps --services = %q, want [run]", got)
	}
	if got := lines(c.must("ps", "-a", "--services").stdout); !slices.Equal(got, []string{"done", "run"}) {
		t.Errorf("ps -a --services = %q, want [done run]", got)
	}
	// --status lists stopped containers without -a; --filter status= is the same.
	for _, args := range [][]string{{"--status", "exited"}, {"--filter", "status=exited"}} {
		got := lines(c.must(append([]string{"ps", "--format", "{{.Service}} {{.State}} {{.ExitCode}}"}, args...)...).stdout)
		if !slices.Equal(got, []string{"done exited 0"}) {
			t.Errorf("ps %v = %q, want [done exited 0]", args, got)
		}
	}
	got := lines(c.must("ps", "--status", "running", "--status", "exited", "--format", "{{.Service}}").stdout)
	if !slices.Equal(got, []string{"done", "run"}) {
		t.Errorf("ps --status running --status exited = %q", got)
	}
	for _, args := range [][]string{{"--status", "sleeping"}, {"--filter", "name=x"}, {"--format", "{{.Nope"}} {
		r := c.run(append([]string{"ps"}, args...)...)
		if r.code == 0 || len(lines(r.stderr)) != 1 {
			t.Errorf("ps %v: want one error line and a non-zero exit: %s", args, r)
		}
	}

	// A table template gets Docker's headers; Status reads like Docker's.
	table := lines(c.must("ps", "-a", "--format", "table {{.Name}}\t{{.Status}}").stdout)
	if len(table) != 3 || !regexp.MustCompile(`^NAME\s+STATUS$`).MatchString(table[0]) {
		t.Fatalf("ps table template:\n%s", strings.Join(table, "\n"))
	}
	if !regexp.MustCompile(`-done-1\s+Exited \(0\) (Less than a second|\d+ seconds?) ago$`).MatchString(table[1]) ||
		!regexp.MustCompile(`-run-1\s+Up (Less than a second|\d+ seconds?)$`).MatchString(table[2]) {
		t.Errorf("ps statuses:\n%s", strings.Join(table, "\n"))
	}
	// The default table has Docker Compose's columns.
	if head := lines(c.must("ps").stdout)[0]; !regexp.MustCompile(`^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$`).MatchString(head) {
		t.Errorf("ps header %q", head)
	}

	// JSON: one object per line with Compose's field names.
	r := c.must("ps", "--format", "json")
	var obj map[string]any
	if err := json.Unmarshal([]byte(lines(r.stdout)[0]), &obj); err != nil {
		t.Fatalf("ps json: %v\n%s", err, r.stdout)
	}
	for _, k := range []string{"ID", "Name", "Service", "State", "Status", "Image", "Command", "Project", "ExitCode", "Health", "Publishers", "CreatedAt", "Ports"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("ps json lacks %s: %s", k, r.stdout)
		}
	}
	if obj["Service"] != "run" || obj["State"] != "running" || obj["Image"] != "busybox" || len(obj["ID"].(string)) != 64 {
		t.Errorf("ps json: %s", r.stdout)
	}

	// IDs: 12 characters in templates, all 64 with --no-trunc and with -q.
	if id := strings.TrimSpace(c.must("ps", "--format", "{{.ID}}").stdout); len(id) != 12 {
		t.Errorf("ps {{.ID}} = %q, want 12 characters", id)
	}
	full := strings.TrimSpace(c.must("ps", "--no-trunc", "--format", "{{.ID}}").stdout)
	if len(full) != 64 || strings.TrimSpace(c.must("ps", "-q").stdout) != full {
		t.Errorf("ps --no-trunc {{.ID}} = %q, ps -q = %q", full, c.must("ps", "-q").stdout)
	}

	// images and top have Compose's columns.
	imgs := lines(c.must("images").stdout)
	if len(imgs) != 3 || !regexp.MustCompile(`^CONTAINER\s+REPOSITORY\s+TAG\s+PLATFORM\s+IMAGE ID\s+SIZE\s+CREATED$`).MatchString(imgs[0]) ||
		!regexp.MustCompile(`-done-1\s+busybox\s+latest\s+linux/\w+\s+[0-9a-f]{12}\s+\S+\s+.* ago$`).MatchString(imgs[1]) {
		t.Errorf("images:\n%s", strings.Join(imgs, "\n"))
	}
	var summaries []struct {
		ContainerName, Repository, Tag, ID string
		Platform                           struct{ OS string }
	}
	if err := json.Unmarshal([]byte(c.must("images", "--format", "json").stdout), &summaries); err != nil || len(summaries) != 2 ||
		summaries[1].Repository != "busybox" || summaries[1].Tag != "latest" || summaries[1].Platform.OS != "linux" || !strings.HasPrefix(summaries[1].ID, "sha256:") {
		t.Errorf("images --format json: %+v (%v)", summaries, err)
	}
	top := lines(c.must("top", "run").stdout)
	if len(top) < 3 || !strings.HasSuffix(top[0], "-run-1") || !regexp.MustCompile(`^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$`).MatchString(top[1]) {
		t.Errorf("top:\n%s", strings.Join(top, "\n"))
	}
	if v := strings.TrimSpace(c.must("version", "--short").stdout); !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("version --short = %q", v)
	}
	var version struct{ Version string }
	if err := json.Unmarshal([]byte(c.must("version", "--format", "json").stdout), &version); err != nil || !strings.HasPrefix(version.Version, "v") {
		t.Errorf("version --format json: %+v (%v)", version, err)
	}

	// Drop "done" from the file: its container is an orphan, listed unless --orphans=false.
	c.writeCompose(strings.SplitN(statusProject, "  done:", 2)[0])
	if got := lines(c.must("ps", "-a", "--services").stdout); !slices.Equal(got, []string{"done", "run"}) {
		t.Errorf("ps -a with an orphan = %q, want [done run]", got)
	}
	if got := lines(c.must("ps", "-a", "--services", "--orphans=false").stdout); !slices.Equal(got, []string{"run"}) {
		t.Errorf("ps -a --orphans=false = %q, want [run]", got)
	}
}

// TestLs: running projects by default, stopped ones with --all, with
// Compose's status counts and config files.
func TestLs(t *testing.T) {
	t.Parallel()
	c := newProject(t, statusProject)
	name := strings.TrimPrefix(c.env[len(c.env)-1], "COMPOSE_PROJECT_NAME=")
	c.must("up", "-d")
	testutil.Eventually(t, 20*time.Second, "done to exit", func() bool { return c.stateOf("done") == "exited" })
	file := filepath.Join(c.dir, "compose.yaml")

	table := lines(c.must("ls").stdout)
	if len(table) != 2 || !regexp.MustCompile(`^NAME\s+STATUS\s+CONFIG FILES$`).MatchString(table[0]) ||
		!regexp.MustCompile(`^`+name+`\s+running\(1\)\s+`+regexp.QuoteMeta(file)+`$`).MatchString(table[1]) {
		t.Errorf("ls:\n%s", strings.Join(table, "\n"))
	}
	all := lines(c.must("ls", "--all").stdout)
	if len(all) != 2 || !strings.Contains(all[1], "exited(1), running(1)") {
		t.Errorf("ls --all:\n%s", strings.Join(all, "\n"))
	}
	if q := strings.TrimSpace(c.must("ls", "-q").stdout); q != name {
		t.Errorf("ls -q = %q, want %q", q, name)
	}
	if q := strings.TrimSpace(c.must("ls", "-q", "--filter", "name=nomatch").stdout); q != "" {
		t.Errorf("ls --filter name=nomatch = %q", q)
	}
	if q := strings.TrimSpace(c.must("ls", "-q", "--filter", "name=nomatch", "--filter", "name="+name[:5]).stdout); q != name {
		t.Errorf("ls with two name filters, one matching = %q", q)
	}

	c.must("stop")
	if q := strings.TrimSpace(c.must("ls", "-q").stdout); q != "" {
		t.Errorf("ls lists a stopped project: %q", q)
	}
	var projects []struct{ Name, Status, ConfigFiles string }
	if err := json.Unmarshal([]byte(c.must("ls", "-a", "--format", "json").stdout), &projects); err != nil {
		t.Fatal(err)
	}
	if len(projects) != 1 || projects[0].Name != name || projects[0].Status != "exited(2)" || projects[0].ConfigFiles != file {
		t.Errorf("ls -a --format json = %+v", projects)
	}
}

// TestEvents: `events --json` streams a container's create, start, pause,
// unpause, die, stop and destroy, in order, as they happen; the text form is
// Compose's line.
func TestEvents(t *testing.T) {
	t.Parallel()
	c := newProject(t, statusProject)
	events := func(args ...string) *bufio.Scanner {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := c.command(ctx, append([]string{"events"}, args...)...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); _ = cmd.Wait() })
		// It watches once its inotify instance has watches.
		testutil.Eventually(t, 10*time.Second, "events to watch", func() bool { return hasInotifyWatch(cmd.Process.Pid) })
		return bufio.NewScanner(out)
	}
	jsonEvents := events("--json", "run")
	textEvents := events("run")

	c.must("up", "-d", "run")
	c.must("pause", "run")
	c.must("unpause", "run")
	c.must("stop", "run")
	c.must("rm", "-f", "run")

	type event struct {
		Time       time.Time
		Type       string
		Action     string
		ID         string
		Service    string
		Attributes map[string]string
	}
	var got []event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for jsonEvents.Scan() {
			var ev event
			if err := json.Unmarshal(jsonEvents.Bytes(), &ev); err != nil {
				t.Errorf("events --json line %q: %v", jsonEvents.Text(), err)
				return
			}
			got = append(got, ev)
			if ev.Action == "destroy" {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("no destroy event; got %+v", got)
	}
	var actions []string
	for _, ev := range got {
		actions = append(actions, ev.Action)
		if ev.Type != "container" || ev.Service != "run" || len(ev.ID) != 64 || ev.Attributes["image"] != "busybox" ||
			!strings.HasSuffix(ev.Attributes["name"], "-run-1") || ev.Time.IsZero() {
			t.Errorf("event %+v", ev)
		}
	}
	if want := []string{"create", "start", "pause", "unpause", "die", "stop", "destroy"}; !slices.Equal(actions, want) {
		t.Errorf("events = %v, want %v", actions, want)
	}
	if len(got) > 4 && got[4].Attributes["exitCode"] != "0" {
		t.Errorf("die event without exitCode 0: %+v", got[4])
	}
	if !textEvents.Scan() {
		t.Fatal("no text event")
	}
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} container create [0-9a-f]{64} \(image=busybox, name=\S+-run-1\)$`)
	if !line.MatchString(textEvents.Text()) {
		t.Errorf("events line %q", textEvents.Text())
	}
	if !textEvents.Scan() || textEvents.Text() != "" { // as Compose prints it
		t.Errorf("no blank line after an event: %q", textEvents.Text())
	}

	// --until ends the stream by itself; --since is refused in one line.
	until := time.Now().Add(500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	if r := c.run("events", "--until", until); r.code != 0 {
		t.Errorf("events --until: %s", r)
	}
	if r := c.run("events", "--since", "2020-01-01"); r.code == 0 || len(lines(r.stderr)) != 1 {
		t.Errorf("events --since: %s", r)
	}
}

// hasInotifyWatch reports whether process pid holds an inotify instance
// with at least one watch.
func hasInotifyWatch(pid int) bool {
	infos, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fdinfo/*")
	for _, p := range infos {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "inotify wd:") {
			return true
		}
	}
	return false
}

// TestConfigOptions: the `config` flags that print parts of the model.
func TestConfigOptions(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "lib/busybox:1", img)
	c := newCLI(t)
	c.dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(c.dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "COMPOSE_PROJECT_NAME=cfg", "TAG=5")
	c.writeCompose(`
services:
  web:
    image: ` + reg.Ref("lib/busybox:1") + `
    command: [echo, "${TAG:-1}"]
    volumes: [./data:/data]
  app:
    build: ./app
  debug:
    image: busybox
    profiles: [debug, tools]
`)
	if got := lines(c.must("config", "--profiles").stdout); !slices.Equal(got, []string{"debug", "tools"}) {
		t.Errorf("config --profiles = %q", got)
	}
	if got := lines(c.must("config", "--images").stdout); !slices.Equal(got, []string{"cfg-app", reg.Ref("lib/busybox:1")}) {
		t.Errorf("config --images = %q", got)
	}
	hashes := lines(c.must("config", "--hash", "*").stdout)
	if len(hashes) != 2 || !regexp.MustCompile(`^app [0-9a-f]{64}$`).MatchString(hashes[0]) || !strings.HasPrefix(hashes[1], "web ") {
		t.Errorf("config --hash '*' = %q", hashes)
	}
	if one := lines(c.must("config", "--hash", "web").stdout); len(one) != 1 || one[0] != hashes[1] {
		t.Errorf("config --hash web = %q, want %q", one, hashes[1])
	}
	if r := c.run("config", "--hash", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("config --hash nosuch: %s", r)
	}
	if out := c.must("config").stdout; !strings.Contains(out, "- \"5\"") || !strings.Contains(out, filepath.Join(c.dir, "data")) {
		t.Errorf("config:\n%s", out)
	}
	if out := c.must("config", "--no-interpolate").stdout; !strings.Contains(out, "${TAG:-1}") {
		t.Errorf("config --no-interpolate:\n%s", out)
	}
	if out := c.must("config", "--no-path-resolution").stdout; !strings.Contains(out, "source: ./data") {
		t.Errorf("config --no-path-resolution:\n%s", out)
	}
	if env := lines(c.must("config", "--environment").stdout); !slices.Contains(env, "TAG=5") {
		t.Errorf("config --environment lacks TAG=5: %q", env)
	}
	out := c.must("config", "--resolve-image-digests", "web").stdout
	if !regexp.MustCompile(`image: ` + regexp.QuoteMeta(reg.Ref("lib/busybox:1")) + `@sha256:[0-9a-f]{64}`).MatchString(out) {
		t.Errorf("config --resolve-image-digests:\n%s", out)
	}
	// A reference to an undeclared network: an error, unless --no-consistency.
	c.writeCompose("services:\n  web:\n    image: busybox\n    networks: [nosuch]\n")
	if r := c.run("config", "-q"); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("config of an inconsistent file: %s", r)
	}
	c.must("config", "-q", "--no-consistency")
	dst := filepath.Join(t.TempDir(), "out.yaml")
	c.must("config", "--no-consistency", "-o", dst)
	if b, err := os.ReadFile(dst); err != nil || !strings.Contains(string(b), "nosuch") {
		t.Errorf("config -o wrote %q (%v)", b, err)
	}
}

// TestDownRmi: --rmi local removes the images compose names itself
// (<project>-<service>) and keeps pulled ones; --rmi all removes those too.
func TestDownRmi(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  web:
    image: busybox
    command: [sleep, "600"]
  app:
    build: ./app
`)
	os.MkdirAll(filepath.Join(c.dir, "app"), 0o755)
	name := strings.TrimPrefix(c.env[len(c.env)-1], "COMPOSE_PROJECT_NAME=")
	has := func(ref string) bool {
		for _, l := range lines(c.must("image", "ls").stdout) {
			if f := strings.Fields(l); len(f) > 1 && f[0]+":"+f[1] == ref {
				return true
			}
		}
		return false
	}
	c.must("image", "tag", "busybox", name+"-app") // stands in for a built image
	c.must("up", "-d", "web")
	c.must("down", "-t", "0", "--rmi", "local")
	if has(name+"-app:latest") || !has("busybox:latest") {
		t.Errorf("after down --rmi local:\n%s", c.must("image", "ls").stdout)
	}
	c.must("image", "tag", "busybox", name+"-app")
	c.must("up", "-d", "web")
	c.must("down", "-t", "0", "--rmi", "all")
	if has(name+"-app:latest") || has("busybox:latest") {
		t.Errorf("after down --rmi all:\n%s", c.must("image", "ls").stdout)
	}
	if r := c.run("down", "--rmi", "some"); r.code == 0 || !strings.Contains(r.stderr, "--rmi") {
		t.Errorf("down --rmi some: %s", r)
	}
}

// TestDownOrphansAndOrder: down stops dependents first, leaves containers
// of services no longer in the file unless --remove-orphans (without a
// warning: Docker Compose warns about orphans on up only).
func TestDownOrphansAndOrder(t *testing.T) {
	t.Parallel()
	const stack = `
services:
  db:
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; sleep 600 & wait']
  api:
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; sleep 600 & wait']
    depends_on: [db]
  old:
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; sleep 600 & wait']
`
	c := newProject(t, stack)
	t.Cleanup(func() { c.run("down", "-t", "0", "--remove-orphans") })
	c.must("up", "-d")
	c.writeCompose(strings.SplitN(stack, "  old:", 2)[0])
	r := c.must("--progress", "plain", "down")
	if strings.Contains(r.stderr, "Found orphan containers") {
		t.Errorf("down warns about orphans, as Compose does on up only:\n%s", r.stderr)
	}
	apiStopped := strings.Index(r.stderr, "-api-1 Stopped")
	dbStopping := strings.Index(r.stderr, "-db-1 Stopping")
	if apiStopped < 0 || dbStopping < 0 || apiStopped > dbStopping {
		t.Errorf("down did not stop api before db:\n%s", r.stderr)
	}
	left := c.ps()
	if len(left) != 1 || left[0].Service != "old" || left[0].State != "running" {
		t.Fatalf("after down, want only the orphan running: %+v", left)
	}
	r = c.must("--progress", "plain", "down", "--remove-orphans")
	if !strings.Contains(r.stderr, "-old-1 Removed") || !strings.Contains(r.stderr, "Network") {
		t.Errorf("down --remove-orphans:\n%s", r.stderr)
	}
	if left := c.ps(); len(left) != 0 {
		t.Errorf("after down --remove-orphans: %+v", left)
	}
	if r := c.must("down"); !strings.Contains(r.stderr, "Warning: No resource found to remove for project") {
		t.Errorf("down of nothing:\n%s", r.stderr)
	}
}
