package engine

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestBuildOrder(t *testing.T) {
	svc := func(name string, deps []string, contexts types.Mapping) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.Build = &types.BuildConfig{AdditionalContexts: contexts}
		if len(deps) > 0 {
			s.DependsOn = types.DependsOnConfig{}
			for _, d := range deps {
				s.DependsOn[d] = types.ServiceDependency{}
			}
		}
		return s
	}
	svcs := []types.ServiceConfig{
		svc("web", []string{"app"}, nil),
		svc("app", nil, types.Mapping{"base": "service:base"}),
		svc("base", nil, nil),
	}
	var got []string
	for _, s := range buildOrder(svcs) {
		got = append(got, s.Name)
	}
	if len(got) != 3 || got[0] != "base" || got[1] != "app" || got[2] != "web" {
		t.Errorf("build order %v, want [base app web]", got)
	}
}

// Docker Compose names a built image api.GetImageNameOrDefault:
// projectName + api.Separator + service.Name, the separator being "_"
// with --compatibility (cmd/compose/compose.go sets api.Separator).
func TestDefaultImageName(t *testing.T) {
	p := &types.Project{Name: "myproj"}
	if got := DefaultImageName(p, "Web"); got != "myproj-web" {
		t.Errorf("DefaultImageName = %q", got)
	}
	p.Environment = types.Mapping{"COMPOSE_COMPATIBILITY": "true"}
	if got := DefaultImageName(p, "Web"); got != "myproj_web" {
		t.Errorf("DefaultImageName in compatibility mode = %q", got)
	}
}
