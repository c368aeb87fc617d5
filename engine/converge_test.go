package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

func rec(n int, hash, image string) *record.Record {
	return &record.Record{Name: "p-web-" + string(rune('0'+n)), Service: "web", Number: n, ImageID: image, Labels: map[string]string{record.LabelConfigHash: hash}}
}

func ops(steps []step) string {
	var out []string
	for _, s := range steps {
		out = append(out, s.op+":"+string(rune('0'+s.number)))
	}
	return strings.Join(out, " ")
}

func TestContainerPlan(t *testing.T) {
	running := func(*record.Record) bool { return true }
	stopped := func(*record.Record) bool { return false }
	tests := []struct {
		name     string
		existing []*record.Record
		scale    int
		policy   recreatePolicy
		restart  bool
		running  func(*record.Record) bool
		want     string
	}{
		{"fresh", nil, 2, recreateDiverged, false, running, "create:1 create:2"},
		{"unchanged", []*record.Record{rec(1, "h", "i")}, 1, recreateDiverged, false, running, "keep:1"},
		{"stopped", []*record.Record{rec(1, "h", "i")}, 1, recreateDiverged, false, stopped, "start:1"},
		{"config changed", []*record.Record{rec(1, "old", "i")}, 1, recreateDiverged, false, running, "recreate:1"},
		{"image changed", []*record.Record{rec(1, "h", "old")}, 1, recreateDiverged, false, running, "recreate:1"},
		{"force", []*record.Record{rec(1, "h", "i")}, 1, recreateForce, false, running, "recreate:1"},
		{"never", []*record.Record{rec(1, "old", "old")}, 1, recreateNever, false, running, "keep:1"},
		{"dependency restarted", []*record.Record{rec(1, "h", "i")}, 1, recreateDiverged, true, running, "restart:1"},
		{"3 to 1 keeps 1", []*record.Record{rec(3, "h", "i"), rec(1, "h", "i"), rec(2, "h", "i")}, 1, recreateDiverged, false, running, "keep:1 remove:3 remove:2"},
		{"1 to 2 adds 2", []*record.Record{rec(1, "h", "i")}, 2, recreateDiverged, false, running, "keep:1 create:2"},
		{"gap: numbers after the highest", []*record.Record{rec(1, "h", "i"), rec(3, "h", "i")}, 3, recreateDiverged, false, running, "keep:1 keep:3 create:4"},
		{"scale 0", []*record.Record{rec(1, "h", "i")}, 0, recreateDiverged, false, running, "remove:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ops(containerPlan(tt.existing, tt.scale, "h", "i", tt.policy, tt.restart, tt.running))
			if got != tt.want {
				t.Errorf("plan %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyFor(t *testing.T) {
	named := map[string]bool{"web": true}
	tests := []struct {
		opts    ConvergeOptions
		named   map[string]bool
		service string
		want    recreatePolicy
	}{
		{ConvergeOptions{}, nil, "web", recreateDiverged},
		{ConvergeOptions{ForceRecreate: true}, nil, "db", recreateForce},
		{ConvergeOptions{NoRecreate: true}, nil, "db", recreateNever},
		{ConvergeOptions{ForceRecreate: true}, named, "db", recreateDiverged}, // a dependency
		{ConvergeOptions{NoRecreate: true}, named, "db", recreateDiverged},
		{ConvergeOptions{AlwaysRecreateDeps: true}, named, "db", recreateForce},
		{ConvergeOptions{AlwaysRecreateDeps: true}, named, "web", recreateDiverged},
	}
	for _, tt := range tests {
		if got := tt.opts.policyFor(tt.service, tt.named); got != tt.want {
			t.Errorf("%+v named %v: %s gets %d, want %d", tt.opts, tt.named, tt.service, got, tt.want)
		}
	}
	if err := (ConvergeOptions{ForceRecreate: true, NoRecreate: true}).validate(); !errdefs.IsInvalidArgument(err) {
		t.Errorf("--force-recreate with --no-recreate: %v", err)
	}
}

func TestConditionMet(t *testing.T) {
	r := &record.Record{Name: "p-db-1", Service: "db"}
	health := func(s string) *supervisor.Health { return &supervisor.Health{Status: s} }
	tests := []struct {
		name    string
		cond    string
		st      container.State
		done    bool
		wantErr string
	}{
		{"started", types.ServiceConditionStarted, container.State{Status: container.StatusRunning}, true, ""},
		{"healthy", types.ServiceConditionHealthy, container.State{Status: container.StatusRunning, Health: health("healthy")}, true, ""},
		{"starting", types.ServiceConditionHealthy, container.State{Status: container.StatusRunning, Health: health("starting")}, false, ""},
		{"unhealthy", types.ServiceConditionHealthy, container.State{Status: container.StatusRunning, Health: health("unhealthy")}, false, "dependency failed to start: container p-db-1 is unhealthy"},
		{"no healthcheck", types.ServiceConditionHealthy, container.State{Status: container.StatusRunning}, false, "dependency failed to start: container p-db-1 has no healthcheck configured"},
		{"exited while awaited healthy", types.ServiceConditionHealthy, container.State{Status: container.StatusExited, ExitCode: 2}, false, "dependency failed to start: container p-db-1 exited (2)"},
		{"still running", types.ServiceConditionCompletedSuccessfully, container.State{Status: container.StatusRunning}, false, ""},
		{"completed", types.ServiceConditionCompletedSuccessfully, container.State{Status: container.StatusExited}, true, ""},
		{"failed", types.ServiceConditionCompletedSuccessfully, container.State{Status: container.StatusExited, ExitCode: 3}, false, `service "db" didn't complete successfully: exit 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := conditionMet(r, tt.cond, tt.st)
			if done != tt.done {
				t.Errorf("done %v, want %v", done, tt.done)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || errdefs.Message(err) != tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errdefs.ErrFailedPrecondition) {
				t.Errorf("error %v is not a failed precondition", err)
			}
		})
	}
}

func TestApplyScale(t *testing.T) {
	two := 2
	p := &types.Project{Services: types.Services{
		"web": {Name: "web", Deploy: &types.DeployConfig{Replicas: &two}},
		"db":  {Name: "db"},
	}, DisabledServices: types.Services{"off": {Name: "off"}}}
	if err := applyScale(p, map[string]int{"web": 3, "db": 0, "off": 1}); err != nil {
		t.Fatal(err)
	}
	web, db := p.Services["web"], p.Services["db"]
	if got := web.GetScale(); got != 3 {
		t.Errorf("web scale %d, want 3", got)
	}
	if got := db.GetScale(); got != 0 {
		t.Errorf("db scale %d, want 0", got)
	}
	if err := applyScale(p, map[string]int{"nosuch": 1}); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown service: %v", err)
	}
}

func TestRestartsFor(t *testing.T) {
	var svc types.ServiceConfig
	svc.DependsOn = types.DependsOnConfig{
		"a": {Condition: types.ServiceConditionStarted, Restart: true},
		"b": {Condition: types.ServiceConditionStarted},
	}
	only := func(s string) func(string) bool { return func(x string) bool { return x == s } }
	if !restartsFor(svc, only("a")) {
		t.Error("a recreated, restart: true: want a restart")
	}
	if restartsFor(svc, only("b")) {
		t.Error("b recreated without restart: true: want no restart")
	}
}
