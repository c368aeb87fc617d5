package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

type psHealth struct {
	ID, Service, State, Status, Health string
}

func (c *cli) psHealth() map[string]psHealth {
	c.t.Helper()
	r := c.must("ps", "-a", "--format", "json")
	out := map[string]psHealth{}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var e psHealth
		if err := dec.Decode(&e); err != nil {
			c.t.Fatalf("ps json: %v\n%s", err, r.stdout)
		}
		out[e.Service] = e
	}
	return out
}

// initPid reads the container's init pid from its state file.
func (c *cli) initPid(id string) int {
	c.t.Helper()
	var st struct{ Pid int }
	b, err := os.ReadFile(filepath.Join(c.root, "containers", id, "state.json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || st.Pid <= 1 {
		c.t.Fatalf("state of %s: pid %d, %v", id, st.Pid, err)
	}
	return st.Pid
}

// TestSupervisedServices: a crashed `restart: always` service comes back,
// a healthcheck shows in ps like Docker's, and `logging: none` keeps no log.
func TestSupervisedServices(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	c.dir = filepath.Join(repoRoot, "e2e", "testdata", "supervised")
	t.Cleanup(func() { c.run("down", "-t", "0") })
	c.must("up", "-d")

	crashy := c.psHealth()["crashy"]
	pid := c.initPid(crashy.ID)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "crashy to restart", func() bool {
		return strings.Count(c.run("logs", "crashy").stdout, "started") == 2 && c.psHealth()["crashy"].State == "running"
	})

	testutil.Eventually(t, 20*time.Second, "checked to be healthy", func() bool {
		e := c.psHealth()["checked"]
		return e.Health == "healthy" && strings.HasSuffix(e.Status, "(healthy)")
	})
	if r := c.must("ps", "checked"); !strings.Contains(r.stdout, "(healthy)") {
		t.Errorf("ps table lacks the health:\n%s", r.stdout)
	}

	testutil.Eventually(t, 20*time.Second, "quiet to exit", func() bool { return c.psHealth()["quiet"].State == "exited" })
	if r := c.must("logs", "quiet"); strings.Contains(r.stdout, "not logged") {
		t.Errorf("logging driver none still logged: %s", r)
	}
}
