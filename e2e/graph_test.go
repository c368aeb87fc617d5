package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// graphProject: db turns healthy, job runs once, web waits for both;
// idle is never started.
const graphProject = `
services:
  web:
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; sleep 600 & wait']
    depends_on:
      db:
        condition: service_healthy
      job:
        condition: service_completed_successfully
  db:
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; sleep 600 & wait']
    healthcheck:
      test: [CMD, "true"]
      interval: 100ms
    volumes: [data:/data]
  job:
    image: busybox
    command: ["true"]
  idle:
    image: busybox
    command: [sleep, "600"]
volumes:
  data: {}
`

// TestGraphStates: `compose graph` of a running project colours each
// service by its state (as ps reports it) with a legend; with SERVICE it
// draws those and what they need; -o writes the file; once the project is
// down, the picture is plain again.
func TestGraphStates(t *testing.T) {
	t.Parallel()
	c := newProject(t, graphProject)
	c.must("up", "-d", "web") // waits for db healthy and job done

	out := c.must("graph", "--format", "mermaid").stdout
	for _, want := range []string{
		`s_db["db<br/>busybox<br/>running (healthy)"]`,
		`s_web["web<br/>busybox<br/>running"]`,
		`s_job["job<br/>busybox<br/>exited (0)"]`,
		`s_idle["idle<br/>busybox<br/>not created"]`,
		`s_web -->|"service_healthy"| s_db`,
		`s_web -->|"service_completed_successfully"| s_job`,
		`s_db -.- v_data`,
		`subgraph legend ["state"]`,
		`class s_db,s_web running`,
		`class s_job exited`,
		`class s_idle absent`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("graph --format mermaid: no %q in\n%s", want, out)
		}
	}

	// web and what it needs: not idle.
	sub := c.must("graph", "web", "--format", "mermaid").stdout
	if strings.Contains(sub, "s_idle") || !strings.Contains(sub, "s_job") {
		t.Errorf("graph web: want web, db and job only:\n%s", sub)
	}

	// The default format is dot, with the states' colours.
	if dot := c.must("graph").stdout; !strings.HasPrefix(dot, "digraph ") || !strings.Contains(dot, `fillcolor="#b7e4b0"`) {
		t.Errorf("graph (dot): want a digraph with the running colour:\n%s", dot)
	}

	file := filepath.Join(t.TempDir(), "stack.svg")
	if r := c.must("graph", "--format", "svg", "-o", file); r.stdout != "" {
		t.Errorf("graph -o printed %q", r.stdout)
	}
	svg, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(svg), "<?xml") || !strings.Contains(string(svg), `<g id="legend"`) {
		t.Errorf("graph -o %s: not the coloured SVG:\n%.300s", file, svg)
	}

	c.must("down", "-t", "0")
	plain := c.must("graph", "--format", "mermaid").stdout
	if strings.Contains(plain, "legend") || strings.Contains(plain, "running") || !strings.Contains(plain, `s_db["db<br/>busybox"]`) {
		t.Errorf("graph after down: want the plain picture:\n%s", plain)
	}
}
