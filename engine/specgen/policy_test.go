package specgen

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
		{name: "restart no", svc: types.ServiceConfig{Restart: "no"}, restart: runspec.RestartPolicy{Name: "no"}},
		{name: "on-failure:0", svc: types.ServiceConfig{Restart: "on-failure:0"}, restart: runspec.RestartPolicy{Name: "on-failure"}},
		{name: "deploy any with attempts is on-failure", svc: types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "any", MaxAttempts: u64(2)}}},
			restart: runspec.RestartPolicy{Name: "on-failure", MaxRetries: 2}},
		{name: "deploy unless-stopped", svc: types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "unless-stopped"}}}, restart: runspec.RestartPolicy{Name: "unless-stopped"}},
		{name: "deploy without restart_policy keeps restart", svc: types.ServiceConfig{Restart: "always", Deploy: &types.DeployConfig{}}, restart: runspec.RestartPolicy{Name: "always"}},
		{name: "image healthcheck", img: imgHealth, health: &runspec.Healthcheck{Test: []string{"/bin/sh", "-c", "wget -q localhost"}, Interval: 7 * time.Second, Retries: 4}},
		{name: "image shell", img: v1.Config{Shell: []string{"/bin/bash", "-ec"}, Healthcheck: &v1.HealthConfig{Test: []string{"CMD-SHELL", "true"}}},
			health: &runspec.Healthcheck{Test: []string{"/bin/bash", "-ec", "true"}}},
		{name: "service overrides image fields", img: imgHealth, hc: &types.HealthCheckConfig{
			Test: types.HealthCheckTest{"CMD", "true"}, Timeout: dur(time.Second), StartPeriod: dur(time.Minute), StartInterval: dur(2 * time.Second), Retries: u64(2)},
			health: &runspec.Healthcheck{Test: []string{"true"}, Interval: 7 * time.Second, Timeout: time.Second, StartPeriod: time.Minute, StartInterval: 2 * time.Second, Retries: 2}},
		{name: "service test, image timings", img: imgHealth, hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}},
			health: &runspec.Healthcheck{Test: []string{"true"}, Interval: 7 * time.Second, Retries: 4}},
		{name: "service timings, image test", img: imgHealth, hc: &types.HealthCheckConfig{Interval: dur(time.Second), Retries: u64(0)},
			health: &runspec.Healthcheck{Test: []string{"/bin/sh", "-c", "wget -q localhost"}, Interval: time.Second, Retries: 4}},
		{name: "zero durations inherit", img: imgHealth, hc: &types.HealthCheckConfig{Interval: dur(0)},
			health: &runspec.Healthcheck{Test: []string{"/bin/sh", "-c", "wget -q localhost"}, Interval: 7 * time.Second, Retries: 4}},
		{name: "service only", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD-SHELL", "true"}, Timeout: dur(3 * time.Second)},
			health: &runspec.Healthcheck{Test: []string{"/bin/sh", "-c", "true"}, Timeout: 3 * time.Second}},
		{name: "timings without a test", hc: &types.HealthCheckConfig{Interval: dur(time.Second)}},
		{name: "image NONE", img: v1.Config{Healthcheck: &v1.HealthConfig{Test: []string{"NONE"}}}},
		{name: "disable", img: imgHealth, hc: &types.HealthCheckConfig{Disable: true}},
		{name: "disable without image", hc: &types.HealthCheckConfig{Disable: true, Test: types.HealthCheckTest{"CMD", "true"}}},
		{name: "NONE", img: imgHealth, hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"NONE"}}},
		{name: "bad test", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"RUN", "x"}}, err: errdefs.ErrInvalidArgument},
		{name: "empty CMD", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD"}}, err: errdefs.ErrInvalidArgument},
		{name: "json-file rotation", logging: &types.LoggingConfig{Driver: "json-file", Options: types.Options{"max-size": "10m", "max-file": "3"}},
			log: runspec.LogOptions{MaxSize: 10 << 20, MaxFile: 3}},
		{name: "local defaults", logging: &types.LoggingConfig{Driver: "local"}, log: runspec.LogOptions{MaxSize: 20 << 20, MaxFile: 5}},
		{name: "none", logging: &types.LoggingConfig{Driver: "none"}, log: runspec.LogOptions{Driver: "none"}},
		{name: "unlimited size", logging: &types.LoggingConfig{Driver: "local", Options: types.Options{"max-size": "-1", "max-file": "1"}}, log: runspec.LogOptions{MaxFile: 1}},
		{name: "compress false", logging: &types.LoggingConfig{Options: types.Options{"compress": "false", "max-size": "1k"}}, log: runspec.LogOptions{MaxSize: 1024}},
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

// TestPolicyErrors checks the one-line messages users see for a bad
// restart, healthcheck or logging option.
func TestPolicyErrors(t *testing.T) {
	neg := types.Duration(-time.Second)
	tests := []struct {
		name    string
		restart string
		deploy  *types.RestartPolicy
		hc      *types.HealthCheckConfig
		logging *types.LoggingConfig
		msg     string
	}{
		{name: "unknown restart", restart: "sometimes", msg: `restart "sometimes": use no, always, on-failure[:max-retries] or unless-stopped`},
		{name: "retries on always", restart: "always:3", msg: `restart "always:3": only on-failure takes a maximum retry count, a number >= 0`},
		{name: "negative retries", restart: "on-failure:-1", msg: `restart "on-failure:-1": only on-failure takes a maximum retry count, a number >= 0`},
		{name: "retries not a number", restart: "on-failure:x", msg: `restart "on-failure:x": only on-failure takes a maximum retry count, a number >= 0`},
		{name: "deploy condition", deploy: &types.RestartPolicy{Condition: "sometimes"}, msg: `deploy.restart_policy.condition "sometimes": use none, on-failure or any`},
		{name: "negative interval", hc: &types.HealthCheckConfig{Interval: &neg}, msg: "healthcheck.interval must not be negative"},
		{name: "negative start_interval", hc: &types.HealthCheckConfig{StartInterval: &neg}, msg: "healthcheck.start_interval must not be negative"},
		{name: "CMD alone", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD"}}, msg: "healthcheck test CMD needs a command"},
		{name: "CMD-SHELL with two", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD-SHELL", "a", "b"}}, msg: "healthcheck test CMD-SHELL takes one command string"},
		{name: "unknown test", hc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"RUN", "x"}}, msg: `healthcheck test "RUN": must start with CMD, CMD-SHELL or NONE`},
		{name: "driver", logging: &types.LoggingConfig{Driver: "syslog"}, msg: `logging driver "syslog" is not supported: use json-file, local or none`},
		{name: "none with options", logging: &types.LoggingConfig{Driver: "none", Options: types.Options{"max-size": "1m"}}, msg: "logging driver none takes no options"},
		{name: "max-size", logging: &types.LoggingConfig{Options: types.Options{"max-size": "lots"}}, msg: `logging option max-size "lots": want a size like 10m`},
		{name: "max-file", logging: &types.LoggingConfig{Options: types.Options{"max-file": "0"}}, msg: `logging option max-file "0": want a number >= 1`},
		{name: "compress", logging: &types.LoggingConfig{Options: types.Options{"compress": "true"}}, msg: "logging option compress=true is not supported: rotated logs stay uncompressed"},
		{name: "unknown option", logging: &types.LoggingConfig{Options: types.Options{"tag": "x"}}, msg: `logging option "tag" is not supported: use max-size and max-file`},
		{name: "max-file alone", logging: &types.LoggingConfig{Options: types.Options{"max-file": "3"}}, msg: "logging option max-file needs max-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := types.ServiceConfig{Name: "web", Restart: tt.restart}
			if tt.deploy != nil {
				svc.Deploy = &types.DeployConfig{RestartPolicy: tt.deploy}
			}
			svc.HealthCheck, svc.Logging = tt.hc, tt.logging
			_, _, _, err := supervisorPolicy(svc, v1.Config{})
			want := `service "web": ` + tt.msg
			if !errors.Is(err, errdefs.ErrInvalidArgument) || errdefs.Message(err) != want {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
		})
	}
}
