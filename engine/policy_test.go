package engine

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

func TestSupervisorPolicy(t *testing.T) {
	dur := func(d time.Duration) *types.Duration { x := types.Duration(d); return &x }
	u64 := func(n uint64) *uint64 { return &n }
	imgHealth := v1.Config{Healthcheck: &v1.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: 7 * time.Second, Retries: 4}}
	tests := []struct {
		name    string
		svc     types.ServiceConfig
		hc      *types.HealthCheckConfig // promoted fields: not settable in the literal
		logging *types.LoggingConfig
		img     v1.Config
		restart runspec.RestartPolicy
		health  *runspec.Healthcheck
		log     runspec.LogOptions
		err     error
	}{
		{name: "defaults"},
		{name: "restart always", svc: types.ServiceConfig{Restart: "always"}, restart: runspec.RestartPolicy{Name: "always"}},
		{name: "on-failure:3", svc: types.ServiceConfig{Restart: "on-failure:3"}, restart: runspec.RestartPolicy{Name: "on-failure", MaxRetries: 3}},
		{name: "unless-stopped", svc: types.ServiceConfig{Restart: "unless-stopped"}, restart: runspec.RestartPolicy{Name: "unless-stopped"}},
		{name: "bad restart", svc: types.ServiceConfig{Restart: "sometimes"}, err: errdefs.ErrInvalidArgument},
		{name: "always:3", svc: types.ServiceConfig{Restart: "always:3"}, err: errdefs.ErrInvalidArgument},
		{name: "deploy overrides", svc: types.ServiceConfig{Restart: "always", Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{
			Condition: "on-failure", MaxAttempts: u64(5), Delay: dur(2 * time.Second), Window: dur(time.Minute)}}},
			restart: runspec.RestartPolicy{Name: "on-failure", MaxRetries: 5, Delay: 2 * time.Second, Window: time.Minute}},
		{name: "deploy default condition is any", svc: types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{}}}, restart: runspec.RestartPolicy{Name: "always"}},
		{name: "deploy none", svc: types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "none"}}}, restart: runspec.RestartPolicy{Name: "no"}},
		{name: "image healthcheck", img: imgHealth, health: &runspec.Healthcheck{Test: []string{"/bin/sh", "-c", "wget -q localhost"}, Interval: 7 * time.Second, Retries: 4}},
		{name: "image shell", img: v1.Config{Shell: []string{"/bin/bash", "-ec"}, Healthcheck: &v1.HealthConfig{Test: []string{"CMD-SHELL", "true"}}},
			health: &runspec.Healthcheck{Test: []string{"/bin/bash", "-ec", "true"}}},
		{name: "service overrides image fields", img: imgHealth, hc: &types.HealthCheckConfig{
			Test: types.HealthCheckTest{"CMD", "true"}, Timeout: dur(time.Second), StartPeriod: dur(time.Minute), StartInterval: dur(2 * time.Second), Retries: u64(2)},
			health: &runspec.Healthcheck{Test: []string{"true"}, Interval: 7 * time.Second, Timeout: time.Second, StartPeriod: time.Minute, StartInterval: 2 * time.Second, Retries: 2}},
		{name: "disable", img: imgHealth, hc: &types.HealthCheckConfig{Disable: true}},
		{name: "NONE", img: imgHealth, hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"NONE"}}},
		{name: "bad test", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"RUN", "x"}}, err: errdefs.ErrInvalidArgument},
		{name: "empty CMD", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD"}}, err: errdefs.ErrInvalidArgument},
		{name: "json-file rotation", logging: &types.LoggingConfig{Driver: "json-file", Options: types.Options{"max-size": "10m", "max-file": "3"}},
			log: runspec.LogOptions{MaxSize: 10 << 20, MaxFile: 3}},
		{name: "local defaults", logging: &types.LoggingConfig{Driver: "local"}, log: runspec.LogOptions{MaxSize: 20 << 20, MaxFile: 5}},
		{name: "none", logging: &types.LoggingConfig{Driver: "none"}, log: runspec.LogOptions{Driver: "none"}},
		{name: "syslog", logging: &types.LoggingConfig{Driver: "syslog"}, err: errdefs.ErrInvalidArgument},
		{name: "bad size", logging: &types.LoggingConfig{Options: types.Options{"max-size": "lots"}}, err: errdefs.ErrInvalidArgument},
		{name: "max-file without max-size", logging: &types.LoggingConfig{Options: types.Options{"max-file": "3"}}, err: errdefs.ErrInvalidArgument},
		{name: "unknown option", logging: &types.LoggingConfig{Options: types.Options{"tag": "x"}}, err: errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name = "web"
			tt.svc.HealthCheck, tt.svc.Logging = tt.hc, tt.logging
			restart, health, log, err := supervisorPolicy(tt.svc, tt.img)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want class %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if restart != tt.restart || !reflect.DeepEqual(health, tt.health) || log != tt.log {
				t.Errorf("got %+v %+v %+v\nwant %+v %+v %+v", restart, health, log, tt.restart, tt.health, tt.log)
			}
		})
	}
}
