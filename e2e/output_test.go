package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

// TestOutputPlainProgress checks plain progress lines character by
// character. Docker Compose prints each event with
// fmt.Fprintln(out, prefix, e.ID, e.Text, e.Details) (cmd/display/plain.go),
// on stderr:
//
//	" Network <project>_default Creating "
//	" Container <project>-app-1 Started "
//
// a leading space, one space between the operands and a trailing one when
// there are no details.
func TestOutputPlainProgress(t *testing.T) {
	c := newProject(t, `
services:
  app:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes: [data:/data]
volumes:
  data:
`)
	p := c.project()
	r := c.must("--progress", "plain", "up", "-d")
	want := "" +
		" Network " + p + "_default Creating \n" +
		" Network " + p + "_default Created \n" +
		" Volume \"" + p + "_data\" Creating \n" +
		" Volume \"" + p + "_data\" Created \n" +
		" Container " + p + "-app-1 Creating \n" +
		" Container " + p + "-app-1 Created \n" +
		" Container " + p + "-app-1 Starting \n" +
		" Container " + p + "-app-1 Started \n"
	if r.stderr != want {
		t.Errorf("up -d, plain progress:\n%q\nwant:\n%q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("up -d printed on stdout: %q", r.stdout)
	}

	// JSON lines (cmd/display/json.go): {"id":...,"status":"Done","text":"Stopped"}.
	r = c.must("--progress", "json", "stop")
	if !strings.Contains(r.stderr, `{"id":"Container `+p+`-app-1","status":"Done","text":"Stopped"}`+"\n") {
		t.Errorf("stop, json progress:\n%s", r.stderr)
	}
	// down: a stopped container still gets its Stopping/Stopped lines
	// (stopAndRemoveContainer), a volume's removal names it unquoted
	// (removeVolume: "Volume %s").
	r = c.must("--progress", "plain", "down", "-v")
	for _, want := range []string{
		" Container " + p + "-app-1 Stopping \n", " Container " + p + "-app-1 Stopped \n",
		" Container " + p + "-app-1 Removing \n", " Container " + p + "-app-1 Removed \n",
		" Volume " + p + "_data Removing \n", " Volume " + p + "_data Removed \n",
		" Network " + p + "_default Removing \n", " Network " + p + "_default Removed \n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("down -v lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestOutputStopStopped: stopping a service that is not running still
// prints its Stopping and Stopped lines, as Docker Compose does: stop lists
// every container of the service (getContainers(..., all=true)) and
// stopContainer emits both events unconditionally (pkg/compose/stop.go).
func TestOutputStopStopped(t *testing.T) {
	c := newProject(t, `
services:
  app:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`)
	c.must("up", "-d")
	c.must("stop")
	name := c.project() + "-app-1"
	r := c.must("--progress", "plain", "stop", "app")
	if want := " Container " + name + " Stopping \n Container " + name + " Stopped \n"; r.stderr != want {
		t.Errorf("stop of a stopped service:\n%q\nwant:\n%q", r.stderr, want)
	}
}

// TestOutputStreams: a container's stdout goes to compose's stdout and its
// stderr to compose's stderr, in attached `up` and in `logs` (Docker
// Compose's log consumer: Log writes to stdout, Err to stderr,
// cmd/formatter/logs.go).
func TestOutputStreams(t *testing.T) {
	c := newProject(t, `
services:
  talk:
    image: busybox
    command: ["sh", "-c", "echo to-out; echo to-err >&2"]
`)
	r := c.must("--progress", "quiet", "up")
	check := func(what string, r result, out, errOut string) {
		t.Helper()
		if !strings.Contains(r.stdout, out) || strings.Contains(r.stdout, "to-err") {
			t.Errorf("%s: stdout should have %q and not the container's stderr:\n%s", what, out, r)
		}
		if !strings.Contains(r.stderr, errOut) || strings.Contains(r.stderr, "to-out") {
			t.Errorf("%s: stderr should have %q and not the container's stdout:\n%s", what, errOut, r)
		}
	}
	check("up", r, "talk-1  | to-out\n", "talk-1  | to-err\n")
	if strings.Contains(r.stdout+r.stderr, "\x1b") { // piped: no colours (see TestOutputColors)
		t.Errorf("attached up coloured piped output: %q", r.stdout+r.stderr)
	}
	check("logs", c.must("logs"), "talk-1  | to-out\n", "talk-1  | to-err\n")
	if r := c.must("logs", "--no-log-prefix"); r.stdout != "to-out\n" || r.stderr != "to-err\n" {
		t.Errorf("logs --no-log-prefix:\n%s", r)
	}
}

// TestOutputColors: colours only on a terminal. Docker Compose colours log
// prefixes when --ansi is always, or auto and its stdout is a terminal
// (cmd/formatter/colors.go, useAnsi); NO_COLOR and --no-color turn them
// off. Nothing piped carries escape codes: logs, attached up, ps, progress.
func TestOutputColors(t *testing.T) {
	c := newProject(t, `
services:
  talk:
    image: busybox
    command: ["sh", "-c", "echo hello; sleep 600"]
    stop_signal: SIGKILL
`)
	r := c.must("up", "-d")
	noEscapes := func(what string, r result) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, "\x1b") {
			t.Errorf("%s: escape codes in piped output:\n%q", what, r.stdout+r.stderr)
		}
	}
	noEscapes("up -d", r)
	testutil.Eventually(t, 10*time.Second, "the container's first line", func() bool {
		return strings.Contains(c.run("logs").stdout, "hello")
	})
	noEscapes("logs", c.must("logs"))
	noEscapes("ps", c.must("ps"))
	noEscapes("ps -a --format json", c.must("ps", "-a", "--format", "json"))
	// The first colour Compose hands out is cyan ("36").
	if r := c.must("--ansi", "always", "logs"); !strings.Contains(r.stdout, "\x1b[36mtalk-1  | \x1b[0mhello") {
		t.Errorf("logs with --ansi always: %q", r.stdout)
	}
	noEscapes("logs --no-color", c.must("--ansi", "always", "logs", "--no-color"))
	c.env = append(c.env, "NO_COLOR=1")
	noEscapes("NO_COLOR logs", c.must("--ansi", "always", "logs"))
	c.env = c.env[:len(c.env)-1]

	// On a terminal (auto) the prefix is coloured.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd, _, out := c.startInPTY(ctx, "logs")
	err := cmd.Wait()
	testutil.Eventually(t, 5*time.Second, "the logs on the terminal", func() bool { return strings.Contains(out.String(), "hello") })
	if err != nil || !strings.Contains(out.String(), "\x1b[36mtalk-1  | \x1b[0mhello") {
		t.Errorf("logs on a terminal: %v, %q", err, out.String())
	}
}

// TestOutputMessages: the messages Docker Compose users grep for, on the
// same stream, with exit code 1.
func TestOutputMessages(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  bad:
    image: busybox
    command: ["sh", "-c", "exit 1"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  needs:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on:
      bad:
        condition: service_healthy
  wants:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on:
      bad:
        condition: service_healthy
        required: false
`)
	p := c.project()
	exactErr := func(what string, r result, want string) {
		t.Helper()
		if r.code != 1 || r.stderr != want+"\n" {
			t.Errorf("%s: want exit 1 and stderr %q, got %s", what, want, r)
		}
	}
	c.must("up", "-d", "web")
	// pkg/compose/containers.go, getSpecifiedContainer: `service %q is not
	// running container #%d` for a replica that does not run, `service %q
	// is not running` with no --index.
	exactErr("exec --index 2", c.run("exec", "-T", "--index", "2", "web", "true"), `service "web" is not running container #2`)
	exactErr("cp --index 3", c.run("cp", "--index", "3", "web:/etc/hostname", t.TempDir()), `service "web" is not running container #3`)
	c.must("stop", "web")
	exactErr("exec on a stopped service", c.run("exec", "-T", "web", "true"), `service "web" is not running`)

	// A required dependency that exits: convergence.go, waitDependencies:
	// the error "dependency failed to start: container x exited (1)", the
	// dependency's line "Error" with "dependency bad failed to start".
	r := c.run("--progress", "plain", "up", "-d", "needs")
	if r.code != 1 || !strings.HasSuffix(r.stderr, "dependency failed to start: container "+p+"-bad-1 exited (1)\n") ||
		!strings.Contains(r.stderr, " Container "+p+"-bad-1 Error dependency bad failed to start\n") {
		t.Errorf("up with a dependency that exits: %s", r)
	}
	// An optional one: its line says Skipped, a warning says why, up goes on.
	r = c.must("--progress", "plain", "up", "-d", "wants")
	if !strings.Contains(r.stderr, ` Container `+p+`-bad-1 Skipped: optional dependency "bad" failed to start `+"\n") ||
		!strings.Contains(r.stderr, `optional dependency "bad" failed to start: container `+p+`-bad-1 exited (1)`) {
		t.Errorf("up with an optional dependency that exits: %s", r)
	}

	// A misspelled key, as compose-go's schema check words it, and a YAML
	// syntax error as yaml.v3 does (Docker Compose prints it alone).
	writeFiles(t, c.dir, map[string]string{
		"typo.yaml":   "services:\n  web:\n    image: busybox\n    comand: echo hi\n",
		"broken.yaml": "services:\n  web:\n    image: busybox\n    command: [a\n",
	})
	exactErr("misspelled key", c.run("-f", "typo.yaml", "config"),
		"validating "+c.dir+"/typo.yaml: services.web additional properties 'comand' not allowed")
	exactErr("yaml syntax error", c.run("-f", "broken.yaml", "config"), "yaml: line 3: did not find expected ',' or ']'")
}

// TestOutputNoSuchService: the lifecycle commands on a service the compose
// file does not have fail as Docker Compose's do: the project is loaded
// with the services named (projectOrName, cmd/compose/compose.go), which
// compose-go refuses with "no such service: x"; exit 1. On services that
// have no container: start fails ("service %q has no container to start",
// convergence.go), kill says "No container to kill" and succeeds
// (cmd/compose/kill.go), the others do nothing.
func TestOutputNoSuchService(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "600"]
`)
	for _, cmd := range []string{"pause", "unpause", "stop", "start", "restart", "kill"} {
		if r := c.run(cmd, "nosuch"); r.code != 1 || r.stderr != "no such service: nosuch\n" || r.stdout != "" {
			t.Errorf("%s nosuch: %s", cmd, r)
		}
	}
	if r := c.run("start", "web"); r.code != 1 || r.stderr != `service "web" has no container to start`+"\n" {
		t.Errorf("start of a service without containers: %s", r)
	}
	if r := c.run("kill", "web"); r.code != 0 || r.stderr != "No container to kill\n" {
		t.Errorf("kill of a service without containers: %s", r)
	}
	for _, cmd := range []string{"pause", "unpause", "stop", "restart"} {
		if r := c.run("--progress", "plain", cmd, "web"); r.code != 0 || r.stdout+r.stderr != "" {
			t.Errorf("%s of a service without containers: %s", cmd, r)
		}
	}
}

// TestOutputPsExposedPorts: ports a service only exposes are in ps as
// Docker shows them. Its container list reports an exposed port with no
// IP and no public port, Compose passes it on as a publisher
// ({"URL":"","TargetPort":80,"PublishedPort":0,"Protocol":"tcp"},
// pkg/compose/ps.go, ordered by target port) and the docker CLI's
// DisplayablePorts writes "80/tcp", ranges grouped, mappings to other host
// ports last: "80/tcp, 5000-5001/udp, 0.0.0.0:32768->81/tcp".
func TestOutputPsExposedPorts(t *testing.T) {
	c := newProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    expose: ["80", "5000-5001/udp"]
    ports: ["81"]
`)
	c.must("up", "-d")
	var row struct {
		Ports      string
		Publishers []struct {
			URL           string
			TargetPort    int
			PublishedPort int
			Protocol      string
		}
	}
	if err := json.Unmarshal([]byte(c.must("ps", "--format", "json").stdout), &row); err != nil {
		t.Fatal(err)
	}
	if len(row.Publishers) != 4 {
		t.Fatalf("publishers: %+v", row.Publishers)
	}
	host := row.Publishers[1].PublishedPort
	if want := fmt.Sprintf("80/tcp, 5000-5001/udp, 0.0.0.0:%d->81/tcp", host); row.Ports != want || host == 0 {
		t.Errorf("Ports %q, want %q", row.Ports, want)
	}
	want := fmt.Sprintf(`[{ 80 0 tcp} {0.0.0.0 81 %d tcp} { 5000 0 udp} { 5001 0 udp}]`, host)
	if got := fmt.Sprint(row.Publishers); got != want {
		t.Errorf("Publishers %s, want %s", got, want)
	}
	if out := c.must("ps").stdout; !strings.Contains(out, "80/tcp, 5000-5001/udp, 0.0.0.0:") {
		t.Errorf("ps table:\n%s", out)
	}
}

// TestOutputBuild: the build's steps and RUN output go to stdout, as
// BuildKit's display does in Docker Compose (build_bake.go:
// progressui.NewDisplay(s.stdout())); the progress lines, " Image x
// Building " and " Image x Built ", to stderr. build's own (hidden)
// --progress is accepted, and quiet silences both.
func TestOutputBuild(t *testing.T) {
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	_, proj := buildProject(t, "out-build", map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n",
		"Dockerfile":   "FROM busybox\nRUN echo from-the-run-step\n",
	})
	t.Cleanup(func() { c.run(append(proj, "down", "--rmi", "local")...) })
	r := c.must(append(proj, "build", "--progress", "plain")...)
	if !strings.Contains(r.stdout, "from-the-run-step") || !strings.Contains(r.stdout, "RUN echo from-the-run-step") {
		t.Errorf("build output is not on stdout:\n%s", r)
	}
	if want := " Image out-build-app Building \n Image out-build-app Built \n"; r.stderr != want {
		t.Errorf("build progress:\n%q\nwant:\n%q", r.stderr, want)
	}
	if r := c.must(append(proj, "build", "--progress", "quiet")...); r.stdout+r.stderr != "" {
		t.Errorf("build --progress quiet printed:\n%s", r)
	}
	if r := c.run(append(proj, "build", "--progress", "fancy")...); r.code != 1 || r.stderr != "unsupported --progress value \"fancy\"\n" {
		t.Errorf("build --progress fancy: %s", r)
	}
}

// TestOutputTTY: on a terminal, up -d paints Compose's live block and
// leaves its final frame: "[+] up 2/2", then a row per resource (the
// container's row goes from Creating to Started) with a ✔, one space
// between the longest ID and the status, the time at the right edge of the
// 123-column terminal (cmd/display/tty*.go). Detached, Started stays.
func TestOutputTTY(t *testing.T) {
	c := newProject(t, `
services:
  app:
    image: busybox
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`)
	p := c.project()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd, _, out := c.startInPTY(ctx, "up", "-d")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("up -d on a terminal: %v\n%q", err, out.String())
	}
	testutil.Eventually(t, 5*time.Second, "the final frame", func() bool { return strings.Contains(out.String(), "[+] up 2/2") })
	frames := out.String()
	if !strings.Contains(frames, "\x1b[?25l") {
		t.Errorf("no live block: %q", frames)
	}
	// The repaints rewrite only the rows that changed: the screen's last
	// state is the last row written for each resource.
	plain := regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`).ReplaceAllString(frames, "")
	last := map[string]string{}
	for _, l := range strings.Split(plain, "\n") {
		l = strings.TrimRight(l, "\r")
		for _, id := range []string{"Network " + p + "_default", "Container " + p + "-app-1"} {
			if strings.Contains(l, id) {
				last[id] = l
			}
		}
	}
	timer := regexp.MustCompile(` \d+\.\ds$`)
	for id, status := range map[string]string{"Network " + p + "_default": "Created", "Container " + p + "-app-1": "Started"} {
		row := last[id]
		if len([]rune(row)) != 123 || !timer.MatchString(row) {
			t.Errorf("row %q does not end with its time at column 123", row)
		}
		// The longest ID is the container's: one space before its status.
		pad := strings.Repeat(" ", len("Container "+p+"-app-1")-len(id))
		if want := " ✔ " + id + pad + " " + status + " "; !strings.HasPrefix(row, want) {
			t.Errorf("final row %q, want it to start %q", row, want)
		}
	}
}
