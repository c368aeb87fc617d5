package diagram

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/project"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// load reads a project of testdata/projects (named after its directory).
func load(t *testing.T, name string) *types.Project {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "projects", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(t.Context(), project.Options{WorkDir: dir, Environ: []string{}})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return p
}

// shopStates has a service in each state the legend knows, api with two
// replicas of which one is unhealthy (that one colours it).
var shopStates = []Container{
	{Service: "web", State: "running"},
	{Service: "api", State: "running", Health: "healthy"},
	{Service: "api", State: "running", Health: "unhealthy"},
	{Service: "db", State: "running", Health: "starting"},
	{Service: "migrate", State: "exited", ExitCode: 0},
	{Service: "assets", State: "exited", ExitCode: 1},
	{Service: "sidecar", State: "restarting"},
}

var goldenCases = []struct {
	name     string // golden file base name
	project  string
	services []string
	states   []Container // nil: the plain picture
}{
	{name: "react-java-mysql", project: "react-java-mysql"},
	{name: "react-java-mysql-running", project: "react-java-mysql", states: []Container{
		{Service: "db", State: "running", Health: "healthy"},
		{Service: "backend", State: "running"},
		{Service: "frontend", State: "created"},
	}},
	{name: "nginx-golang-postgres", project: "nginx-golang-postgres"},
	{name: "shop", project: "shop"},
	{name: "shop-states", project: "shop", states: shopStates},
	{name: "shop-selection", project: "shop", services: []string{"migrate", "sidecar"}, states: []Container{{Service: "db", State: "paused"}}},
}

// TestGolden renders every case in the three formats and compares with
// testdata/golden (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			d := newCase(t, tc.project, tc.services, tc.states)
			for _, format := range []string{"dot", "mermaid", "svg"} {
				got, err := d.Render(format)
				if err != nil {
					t.Fatal(err)
				}
				ext := map[string]string{"dot": ".dot", "mermaid": ".mmd", "svg": ".svg"}[format]
				golden(t, filepath.Join("testdata", "golden", tc.name+ext), got)
			}
		})
	}
}

func newCase(t *testing.T, name string, services []string, states []Container) *Diagram {
	t.Helper()
	opts := Options{Services: services}
	if states != nil {
		opts.States = States(states)
	}
	d, err := New(load(t, name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s", path, got)
	}
}

func TestNew(t *testing.T) {
	d := newCase(t, "shop", nil, nil)
	var names []string
	for _, n := range d.Nodes {
		names = append(names, n.ID)
	}
	wantNodes := []string{"s_api", "s_assets", "s_db", "s_metrics", "s_migrate", "s_sidecar", "s_web",
		"n_back", "n_default", "n_front", "n_monitoring", "v_pgdata", "v_static"}
	if !slices.Equal(names, wantNodes) {
		t.Errorf("nodes = %q, want %q", names, wantNodes)
	}
	wantNeeds := []Need{
		{From: "s_api", To: "s_db", Reasons: []string{"service_healthy"}},
		{From: "s_api", To: "s_migrate", Reasons: []string{"service_completed_successfully"}},
		{From: "s_migrate", To: "s_db", Reasons: []string{"service_started"}},
		// network_mode and volumes_from: one arrow, both reasons (not the
		// depends_on the loader adds for them).
		{From: "s_sidecar", To: "s_api", Reasons: []string{"network_mode", "volumes_from"}},
		{From: "s_web", To: "s_api", Reasons: []string{"service_healthy (restart)", "links"}},
		{From: "s_web", To: "s_assets", Reasons: []string{"service_completed_successfully"}},
	}
	if !slices.EqualFunc(d.Needs, wantNeeds, func(a, b Need) bool {
		return a.From == b.From && a.To == b.To && slices.Equal(a.Reasons, b.Reasons)
	}) {
		t.Errorf("needs = %+v\nwant %+v", d.Needs, wantNeeds)
	}
	wantUses := []Use{
		{"s_api", "n_back"}, {"s_db", "n_back"}, {"s_migrate", "n_back"},
		{"s_assets", "n_default"},
		{"s_api", "n_front"}, {"s_web", "n_front"},
		{"s_metrics", "n_monitoring"},
		{"s_db", "v_pgdata"},
		{"s_api", "v_static"}, {"s_assets", "v_static"},
	}
	if !slices.Equal(d.Uses, wantUses) {
		t.Errorf("uses = %v\nwant %v", d.Uses, wantUses)
	}
	if n := d.node("n_monitoring"); n.Detail != "external network: shared-monitoring" {
		t.Errorf("external network detail = %q", n.Detail)
	}
	if n := d.node("s_api"); n.Detail != "shop-api (build)" {
		t.Errorf("built service detail = %q", n.Detail)
	}
	if d.Colored {
		t.Error("a picture without states is coloured")
	}
}

// TestNewSelection: named services come with what they need, and only the
// resources those use.
// node returns the node with id.
func (d *Diagram) node(id string) Node {
	for _, n := range d.Nodes {
		if n.ID == id {
			return n
		}
	}
	return Node{}
}

func TestNewSelection(t *testing.T) {
	d := newCase(t, "shop", []string{"migrate"}, nil)
	var names []string
	for _, n := range d.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{"db", "migrate", "back", "pgdata"}; !slices.Equal(names, want) {
		t.Errorf("nodes of `graph migrate` = %q, want %q", names, want)
	}
}

func TestNewErrors(t *testing.T) {
	p := load(t, "shop")
	if _, err := New(p, Options{Services: []string{"nope"}}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown service: err = %v, want NotFound", err)
	}
	a := types.ServiceConfig{Name: "a"}
	a.DependsOn = types.DependsOnConfig{"b": {Condition: types.ServiceConditionStarted, Required: true}}
	b := types.ServiceConfig{Name: "b"}
	b.Links = []string{"a"}
	cyc := &types.Project{Name: "cyc", Services: types.Services{"a": a, "b": b}}
	if _, err := New(cyc, Options{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("cycle: err = %v, want InvalidArgument", err)
	}
	d, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Render("png"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Render(png): err = %v, want InvalidArgument", err)
	}
}

// TestIDs: ids are [A-Za-z0-9_] and unique even when names differ only
// in other characters; a volume may share a service's name.
func TestIDs(t *testing.T) {
	data := types.ServiceConfig{Name: "data"}
	data.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeVolume, Source: "data", Target: "/d"}}
	p := &types.Project{Name: "ids", Services: types.Services{
		"a-b":  {Name: "a-b"},
		"a.b":  {Name: "a.b"},
		"data": data,
	}, Volumes: types.Volumes{"data": {Name: "ids_data"}}}
	d, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range d.Nodes {
		ids = append(ids, n.ID)
	}
	if want := []string{"s_a_b", "s_a_b_2", "s_data", "v_data"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %q, want %q", ids, want)
	}
	if want := []Use{{"s_data", "v_data"}}; !slices.Equal(d.Uses, want) {
		t.Errorf("uses = %v, want %v", d.Uses, want)
	}
}

func TestStates(t *testing.T) {
	tests := []struct {
		name  string
		in    []Container
		class string
		text  string
	}{
		{"none", nil, "absent", "not created"},
		{"running", []Container{{State: "running"}}, "running", "running"},
		{"healthy", []Container{{State: "running", Health: "healthy"}}, "running", "running (healthy)"},
		{"starting", []Container{{State: "running", Health: "starting"}}, "starting", "running (starting)"},
		{"unhealthy wins", []Container{{State: "running", Health: "healthy"}, {State: "running", Health: "unhealthy"}, {State: "running"}}, "unhealthy", "running (unhealthy) ×3"},
		{"exited", []Container{{State: "exited", ExitCode: 137}}, "exited", "exited (137)"},
		{"exited beats running", []Container{{State: "running"}, {State: "exited", ExitCode: 2}}, "exited", "exited (2) ×2"},
		{"created", []Container{{State: "created"}}, "created", "created"},
		{"paused", []Container{{State: "paused"}}, "paused", "paused"},
		{"restarting", []Container{{State: "restarting"}}, "restarting", "restarting"},
		{"dead", []Container{{State: "dead"}, {State: "running"}}, "dead", "dead ×2"},
		{"unknown is flagged", []Container{{State: "weird"}}, "dead", "weird"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.in {
				tt.in[i].Service = "s"
			}
			st := States(tt.in)["s"]
			if got := st.class().key; got != tt.class {
				t.Errorf("class = %q, want %q", got, tt.class)
			}
			if got := st.Text(); got != tt.text {
				t.Errorf("text = %q, want %q", got, tt.text)
			}
		})
	}
}

// TestLegend: the legend lists the classes present, in its own order.
func TestLegend(t *testing.T) {
	d := newCase(t, "shop", nil, shopStates)
	var keys []string
	for _, c := range d.legend() {
		keys = append(keys, c.key)
	}
	want := []string{"running", "starting", "restarting", "unhealthy", "exited", "absent"}
	if !slices.Equal(keys, want) {
		t.Errorf("legend = %q, want %q", keys, want)
	}
	if l := newCase(t, "shop", nil, nil).legend(); l != nil {
		t.Errorf("plain picture has a legend: %v", l)
	}
}
