package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

func TestRestartDependents(t *testing.T) {
	dep := func(restart bool) types.ServiceDependency {
		return types.ServiceDependency{Condition: types.ServiceConditionStarted, Restart: restart}
	}
	svc := func(name string, deps types.DependsOnConfig) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.DependsOn = deps
		return s
	}
	p := &types.Project{Services: types.Services{
		"db":     svc("db", nil),
		"api":    svc("api", types.DependsOnConfig{"db": dep(true)}),
		"worker": svc("worker", types.DependsOnConfig{"api": dep(true)}),
		"web":    svc("web", types.DependsOnConfig{"api": dep(false)}),
		"other":  svc("other", nil),
	}}
	if got := restartDependents(p, []string{"db"}); !slices.Equal(got, []string{"api", "worker"}) {
		t.Errorf("dependents of db: %v", got)
	}
	if got := restartDependents(p, []string{"web"}); len(got) != 0 {
		t.Errorf("dependents of web: %v", got)
	}
}

func TestLineFunc(t *testing.T) {
	var lines []string
	l := &lineFunc{fn: func(s string) { lines = append(lines, s) }}
	l.Write([]byte("#1 FROM"))
	l.Write([]byte(" busybox\n#1 DONE\n#2"))
	l.flush()
	if !slices.Equal(lines, []string{"#1 FROM busybox", "#1 DONE", "#2"}) {
		t.Errorf("lines %q", lines)
	}
}

func TestWatchRulesChecks(t *testing.T) {
	cmd := types.ServiceHook{Command: types.ShellCommand{"true"}}
	svc := func(name string, t ...types.Trigger) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.Image = "busybox"
		if len(t) > 0 {
			s.Develop = &types.DevelopConfig{Watch: t}
		}
		return s
	}
	bound := svc("bound", types.Trigger{Path: "/src/lib", Target: "/app/lib", Action: types.WatchActionSync})
	bound.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeBind, Source: "/src", Target: "/app"}}
	p := &types.Project{Services: types.Services{
		"plain":   svc("plain"),
		"rebuild": svc("rebuild", types.Trigger{Path: "/src", Action: types.WatchActionRebuild}),
		"noexec":  svc("noexec", types.Trigger{Path: "/src", Target: "/app", Action: types.WatchActionSyncExec}),
		"bound":   bound,
		"ok":      svc("ok", types.Trigger{Path: "/src", Target: "/app", Action: types.WatchActionSyncExec, Exec: cmd}),
	}}
	for _, tc := range []struct {
		service, want string
	}{
		{"plain", "none of the selected services is configured for watch"},
		{"rebuild", `can't watch service "rebuild" with action rebuild without a build context`},
		{"noexec", `can't watch with action "sync+exec" on service noexec without a command`},
		{"bound", "none of the selected services is configured for watch"},
	} {
		var warn strings.Builder
		_, err := watchRules(p, []string{tc.service}, "none of the selected services is configured for watch", &warn)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: %v", tc.service, err)
		}
		if tc.service == "bound" && !strings.Contains(warn.String(), "path '/src/lib' also declared by a bind mount volume, this path won't be monitored!") {
			t.Errorf("no bind mount warning: %q", warn.String())
		}
	}
	rules, err := watchRules(p, []string{"ok"}, "none", &strings.Builder{})
	if err != nil || len(rules) != 1 || rules[0].service != "ok" {
		t.Fatalf("ok: %v, %v", rules, err)
	}
	if target, ok := rules[0].rule.Match("/src/a/b"); !ok || target != "/app/a/b" {
		t.Errorf("match: %q %v", target, ok)
	}
}
