package engine

import (
	"errors"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
)

// ciPlan is web -> db, plus a quiet service with attach: false.
func ciPlan(t *testing.T) *plan {
	t.Helper()
	no := false
	web := types.ServiceConfig{Name: "web"}
	web.DependsOn = types.DependsOnConfig{"db": {Condition: types.ServiceConditionStarted}}
	p := &types.Project{Name: "p", Services: types.Services{
		"web":   web,
		"db":    {Name: "db"},
		"quiet": {Name: "quiet", Attach: &no},
	}}
	g, err := graph.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return &plan{project: p, graph: g}
}

func TestCheckUpAttach(t *testing.T) {
	pl := ciPlan(t)
	tests := []struct {
		name string
		opts UpOptions
		err  error
	}{
		{"plain", UpOptions{}, nil},
		{"exit-code-from", UpOptions{UpAttach: UpAttach{ExitCodeFrom: "web"}}, nil},
		{"exit-code-from with failure", UpOptions{UpAttach: UpAttach{ExitCodeFrom: "web", AbortOnFailure: true}}, nil},
		{"wait detached", UpOptions{Detach: true, UpAttach: UpAttach{Wait: true}}, nil},
		{"unknown exit-code-from", UpOptions{UpAttach: UpAttach{ExitCodeFrom: "nope"}}, errdefs.ErrInvalidArgument},
		{"detach and abort", UpOptions{Detach: true, UpAttach: UpAttach{AbortOnExit: true}}, errdefs.ErrInvalidArgument},
		{"detach and attach", UpOptions{Detach: true, UpAttach: UpAttach{Attach: []string{"web"}}}, errdefs.ErrInvalidArgument},
		{"both aborts", UpOptions{UpAttach: UpAttach{AbortOnExit: true, AbortOnFailure: true}}, errdefs.ErrInvalidArgument},
		{"wait and abort", UpOptions{UpAttach: UpAttach{Wait: true, AbortOnExit: true}}, errdefs.ErrInvalidArgument},
		{"attach and attach-dependencies", UpOptions{UpAttach: UpAttach{Attach: []string{"web"}, AttachDependencies: true}}, errdefs.ErrInvalidArgument},
		{"attach unknown", UpOptions{UpAttach: UpAttach{Attach: []string{"nope"}}}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		err := checkUpAttach(pl, tt.opts)
		if (err == nil) != (tt.err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestAttachedServices(t *testing.T) {
	pl := ciPlan(t)
	tests := []struct {
		name string
		opts UpOptions
		want []string
	}{
		{"all but attach: false", UpOptions{}, []string{"db", "web"}},
		{"named: no dependencies", UpOptions{Services: []string{"web"}}, []string{"web"}},
		{"named with dependencies", UpOptions{Services: []string{"web"}, UpAttach: UpAttach{AttachDependencies: true}}, []string{"db", "web"}},
		{"--attach wins, even over attach: false", UpOptions{UpAttach: UpAttach{Attach: []string{"quiet"}}}, []string{"quiet"}},
		{"--no-attach", UpOptions{UpAttach: UpAttach{NoAttach: []string{"db"}}}, []string{"web"}},
	}
	for _, tt := range tests {
		if got := sortedKeys(attachedServices(pl, tt.opts)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
