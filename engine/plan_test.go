package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
	"github.com/composer-dev/compose/progress"
	"github.com/composer-dev/compose/project"
)

// The plan `up` carries out is what `up --dry-run` reports, on the same
// code path, with every change to the host behind would(). These tests run
// it on a state root of records and no root privileges, and read the plan
// from the progress lines.

// planEngine is a dry-running engine over a fresh state root.
func planEngine(t *testing.T) (*Engine, *bytes.Buffer) {
	t.Helper()
	root := t.TempDir()
	imgs, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	imgs.DryRun = true
	var out bytes.Buffer
	run := filepath.Join(root, "run")
	e := &Engine{
		root: root, runDir: run, err: &out, progressMode: progress.ModePlain, dryRun: true,
		images: imgs, records: &record.Store{Root: root, DryRun: true},
		runtime: &container.Runtime{RunDir: run}, nets: &networks.Manager{StateDir: filepath.Join(root, "networks"), RunDir: run},
		publishedPorts: func() (map[networks.PortMapping]string, error) { return nil, nil },
	}
	return e, &out
}

func service(name string, deps ...string) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	s.Image = "busybox"
	s.Command = types.ShellCommand{"sleep", "600"}
	if len(deps) > 0 {
		s.DependsOn = types.DependsOnConfig{}
		for _, d := range deps {
			s.DependsOn[d] = types.ServiceDependency{Condition: types.ServiceConditionHealthy, Required: true}
		}
	}
	return s
}

func planProject(svcs ...types.ServiceConfig) *types.Project {
	p := &types.Project{Name: "p", WorkingDir: "/tmp", Services: types.Services{},
		Networks: types.Networks{"default": types.NetworkConfig{Name: "p_default"}}}
	for _, s := range svcs {
		p.Services[s.Name] = s
	}
	return p
}

// existing saves a record of a container of svc, running unless stopped,
// as the project's earlier `up` left it.
func existing(t *testing.T, e *Engine, p *types.Project, svc string, n int, running bool) {
	t.Helper()
	hash := "stale"
	if s, ok := p.Services[svc]; ok {
		hash, _ = project.ConfigHash(s)
	}
	r := &record.Record{ID: record.NewID(), Project: p.Name, Service: svc, Number: n,
		Name: p.Name + "-" + svc + "-" + strconv.Itoa(n), ImageID: "unknown",
		Labels: map[string]string{record.LabelConfigHash: hash, record.LabelOneoff: "False", record.LabelProject: p.Name}}
	r.Dir = e.records.Dir(r.ID)
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	saver := &record.Store{Root: e.root}
	if err := saver.Save(r); err != nil {
		t.Fatal(err)
	}
	if running { // a live supervisor (this process) claims it
		st := `{"Status":"running","Pid":1,"SupervisorPid":` + strconv.Itoa(os.Getpid()) + `}`
		if err := os.WriteFile(filepath.Join(r.Dir, "state.json"), []byte(st), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// planLines are the progress lines of a plan, without the dry-run prefix.
func planLines(out *bytes.Buffer) []string {
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "DRY-RUN MODE - ")); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, l := range got {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("plan lacks %q (in this order); got:\n%s", want[i], strings.Join(got, "\n"))
	}
}

func TestUpPlanFresh(t *testing.T) {
	e, out := planEngine(t)
	web := service("web", "db")
	web.Scale = new(int)
	*web.Scale = 2
	p := planProject(service("db"), web)
	if err := e.Up(t.Context(), p, UpOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	got := planLines(out)
	wantLines(t, got,
		"Network p_default Creating", "Network p_default Created",
		"Container p-db-1 Created", "Container p-db-1 Started",
		"Container p-db-1 Waiting", "Container p-db-1 Healthy",
		"Container p-web-1 Started")
	wantLines(t, got, "Container p-web-2 Created", "Container p-web-2 Started")
}

func TestUpPlanRecreate(t *testing.T) {
	e, out := planEngine(t)
	p := planProject(service("db"), service("web"))
	existing(t, e, p, "db", 1, true)
	existing(t, e, p, "web", 1, true)
	changed := p.Services["web"]
	changed.Environment = types.NewMappingWithEquals([]string{"NEW=1"})
	p.Services["web"] = changed
	if err := e.Up(t.Context(), p, UpOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	got := planLines(out)
	wantLines(t, got, "Container p-db-1 Running")
	// Docker Compose reports a recreated container as "Recreate" then
	// "Recreated" (convergence.go), its old container's stop and removal
	// unreported.
	wantLines(t, got, "Container p-web-1 Recreate", "Container p-web-1 Recreated", "Container p-web-1 Started")
	for _, l := range got {
		if l == "Container p-web-1 Stopping" || l == "Container p-web-1 Removed" {
			t.Errorf("a recreate reports %q:\n%s", l, out)
		}
	}
	if strings.Contains(out.String(), "p-db-1 Recreate") {
		t.Errorf("an unchanged service was recreated:\n%s", out)
	}
}

func TestUpPlanScale(t *testing.T) {
	e, out := planEngine(t)
	p := planProject(service("web"))
	for n := 1; n <= 3; n++ {
		existing(t, e, p, "web", n, true)
	}
	if err := e.Up(t.Context(), p, UpOptions{Detach: true, Converge: ConvergeOptions{Scale: map[string]int{"web": 1}}}); err != nil {
		t.Fatal(err)
	}
	got := planLines(out)
	wantLines(t, got, "Container p-web-1 Running")
	wantLines(t, got, "Container p-web-3 Stopping", "Container p-web-3 Removed")
	wantLines(t, got, "Container p-web-2 Stopping", "Container p-web-2 Removed")

	out.Reset()
	if err := e.Up(t.Context(), p, UpOptions{Detach: true, Converge: ConvergeOptions{Scale: map[string]int{"web": 5}}}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, planLines(out), "Container p-web-4 Created", "Container p-web-5 Created")
	if svc := p.Services["web"]; svc.Scale != nil || svc.Image != "busybox" {
		t.Errorf("up changed the caller's project: scale %v, image %q", svc.Scale, svc.Image)
	}
}

func TestUpPlanOrphans(t *testing.T) {
	e, out := planEngine(t)
	p := planProject(service("web"))
	existing(t, e, p, "web", 1, true)
	existing(t, e, p, "gone", 1, true)
	if err := e.Up(t.Context(), p, UpOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Found orphan containers ([p-gone-1]) for this project.") {
		t.Errorf("no orphan warning:\n%s", out)
	}
	if strings.Contains(out.String(), "p-gone-1 Removed") {
		t.Errorf("an orphan was removed without --remove-orphans:\n%s", out)
	}
	out.Reset()
	if err := e.Up(t.Context(), p, UpOptions{Detach: true, Converge: ConvergeOptions{RemoveOrphans: true}}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, planLines(out), "Container p-gone-1 Stopping", "Container p-gone-1 Removed", "Container p-web-1 Running")
}

// An absurd scale is refused before anything is planned (or allocated).
func TestUpPlanAbsurdScale(t *testing.T) {
	e, _ := planEngine(t)
	web := service("web")
	web.Scale = new(int)
	*web.Scale = 100000000
	err := e.Up(t.Context(), planProject(web), UpOptions{Detach: true})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), `service "web": scale 100000000 is more than one host can run`) {
		t.Fatalf("err = %v", err)
	}
}

// container_name follows Docker's rule for container names.
func TestUpPlanBadContainerName(t *testing.T) {
	e, _ := planEngine(t)
	web := service("web")
	web.ContainerName = "../evil"
	err := e.Up(t.Context(), planProject(web), UpOptions{Detach: true})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), `Invalid container name (../evil), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`) {
		t.Fatalf("err = %v", err)
	}
}
