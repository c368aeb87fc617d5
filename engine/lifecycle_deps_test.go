package engine

import (
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
)

// lifecycleTestProject: app needs db (restart: true) which needs base;
// worker needs db without restart; cache stands alone.
func lifecycleTestProject() *types.Project {
	svc := func(name string, deps types.DependsOnConfig) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.DependsOn = deps
		return s
	}
	dep := func(restart bool) types.ServiceDependency {
		return types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true, Restart: restart}
	}
	return &types.Project{Name: "p", Services: types.Services{
		"base":   svc("base", nil),
		"db":     svc("db", types.DependsOnConfig{"base": dep(false)}),
		"app":    svc("app", types.DependsOnConfig{"db": dep(true)}),
		"worker": svc("worker", types.DependsOnConfig{"db": dep(false)}),
		"cache":  svc("cache", nil),
	}}
}

// Docker Compose, pkg/compose/restart.go: restart keeps only depends_on
// with restart: true and selects the named services with
// types.IncludeDependents (types.IgnoreDependencies first with --no-deps).
func TestRestartSet(t *testing.T) {
	p := lifecycleTestProject()
	for _, tt := range []struct {
		named  []string
		noDeps bool
		want   []string
	}{
		{[]string{"db"}, false, []string{"app", "db"}},
		{[]string{"db"}, true, []string{"db"}},
		{[]string{"app"}, false, []string{"app"}},
		{[]string{"base"}, false, []string{"base"}},
		{nil, false, []string{"app", "base", "cache", "db", "worker"}},
	} {
		g, err := restartSet(p, tt.named, tt.noDeps)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Services(); !slices.Equal(got, tt.want) {
			t.Errorf("restart %v (no-deps %v) = %v, want %v", tt.named, tt.noDeps, got, tt.want)
		}
	}
}

// Docker Compose, cmd/compose/start.go: the project is loaded with the
// named services selected, their dependencies included, and started in
// dependency order.
func TestStartSet(t *testing.T) {
	p := lifecycleTestProject()
	g, err := startSet(p, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	if got := order(g); !slices.Equal(got, []string{"base", "db", "app"}) {
		t.Errorf("start app = %v, want base, db, app in that order", got)
	}
}

// Without compose files, Docker Compose rebuilds the project from the
// containers' labels (projectFromName), com.docker.compose.depends_on
// included.
func TestLifecycleProjectFromLabels(t *testing.T) {
	recs := []*record.Record{
		{Service: "db", Labels: map[string]string{}},
		{Service: "app", Labels: map[string]string{record.LabelDependsOn: "db:service_healthy:true,gone:service_started:false"}},
		{Service: "job", Labels: map[string]string{record.LabelOneoff: "True"}},
	}
	p := lifecycleProject("p", nil, recs)
	if got := p.ServiceNames(); !slices.Equal(got, []string{"app", "db"}) {
		t.Fatalf("services %v (one-off containers left out)", got)
	}
	d := p.Services["app"].DependsOn["db"]
	if d.Condition != types.ServiceConditionHealthy || !d.Restart || !d.Required {
		t.Errorf("app depends on db: %+v", d)
	}
	g, err := restartSet(p, []string{"db"}, false) // "gone" has no container: left out
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Services(); !slices.Equal(got, []string{"app", "db"}) {
		t.Errorf("restart db = %v", got)
	}
}
