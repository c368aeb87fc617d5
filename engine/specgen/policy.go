package specgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	units "github.com/docker/go-units"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// supervisorPolicy maps restart, healthcheck and logging options onto what
// the supervisor enforces.
func supervisorPolicy(svc types.ServiceConfig, cfg v1.Config) (runspec.RestartPolicy, *runspec.Healthcheck, runspec.LogOptions, error) {
	restart, err := restartPolicy(svc)
	if err != nil {
		return restart, nil, runspec.LogOptions{}, err
	}
	health, err := healthcheck(svc, cfg)
	if err != nil {
		return restart, nil, runspec.LogOptions{}, err
	}
	logOpts, err := logOptions(svc)
	return restart, health, logOpts, err
}

func policyError(svc types.ServiceConfig, format string, args ...any) error {
	return fmt.Errorf("service %q: %s: %w", svc.Name, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
}

// restartPolicy reads `restart:`, overridden by deploy.restart_policy as
// Docker Compose does.
func restartPolicy(svc types.ServiceConfig) (runspec.RestartPolicy, error) {
	var p runspec.RestartPolicy
	if svc.Restart != "" {
		name, max, hasMax := strings.Cut(svc.Restart, ":")
		switch name {
		case runspec.RestartNo, runspec.RestartAlways, runspec.RestartUnlessStopped, runspec.RestartOnFailure:
		default:
			return p, policyError(svc, "restart %q: use no, always, on-failure[:max-retries] or unless-stopped", svc.Restart)
		}
		p.Name = name
		if hasMax {
			n, err := strconv.Atoi(max)
			if name != runspec.RestartOnFailure || err != nil || n < 0 {
				return p, policyError(svc, "restart %q: only on-failure takes a maximum retry count, a number >= 0", svc.Restart)
			}
			p.MaxRetries = n
		}
	}
	if svc.Deploy != nil && svc.Deploy.RestartPolicy != nil {
		rp := svc.Deploy.RestartPolicy
		p = runspec.RestartPolicy{}
		switch rp.Condition {
		case "none", "no":
			p.Name = runspec.RestartNo
		case "on-failure":
			p.Name = runspec.RestartOnFailure
		case "", "any", "always": // the compose spec's default is any
			p.Name = runspec.RestartAlways
		case "unless-stopped":
			p.Name = runspec.RestartUnlessStopped
		default:
			return p, policyError(svc, "deploy.restart_policy.condition %q: use none, on-failure or any", rp.Condition)
		}
		if rp.MaxAttempts != nil {
			p.MaxRetries = int(*rp.MaxAttempts)
			if p.Name == runspec.RestartAlways && p.MaxRetries > 0 {
				// Attempts only limit restarts after failures in Docker's model.
				p.Name = runspec.RestartOnFailure
			}
		}
		if rp.Delay != nil {
			p.Delay = time.Duration(*rp.Delay)
		}
		if rp.Window != nil {
			p.Window = time.Duration(*rp.Window)
		}
	}
	return p, nil
}

// healthcheck merges the service's healthcheck over the image's HEALTHCHECK
// the way Docker does: unset fields inherit the image's.
func healthcheck(svc types.ServiceConfig, cfg v1.Config) (*runspec.Healthcheck, error) {
	var test []string
	var h runspec.Healthcheck
	if img := cfg.Healthcheck; img != nil {
		test = img.Test
		h = runspec.Healthcheck{Interval: img.Interval, Timeout: img.Timeout, StartPeriod: img.StartPeriod, Retries: img.Retries}
	}
	if hc := svc.HealthCheck; hc != nil {
		if hc.Disable {
			return nil, nil
		}
		if len(hc.Test) > 0 {
			test = hc.Test
		}
		for _, d := range []struct {
			name string
			src  *types.Duration
			dst  *time.Duration
		}{{"interval", hc.Interval, &h.Interval}, {"timeout", hc.Timeout, &h.Timeout}, {"start_period", hc.StartPeriod, &h.StartPeriod}, {"start_interval", hc.StartInterval, &h.StartInterval}} {
			if d.src == nil {
				continue
			}
			if *d.src < 0 {
				return nil, policyError(svc, "healthcheck.%s must not be negative", d.name)
			}
			if *d.src != 0 {
				*d.dst = time.Duration(*d.src)
			}
		}
		if hc.Retries != nil && *hc.Retries > 0 {
			h.Retries = int(*hc.Retries)
		}
	}
	if len(test) == 0 {
		return nil, nil
	}
	switch test[0] {
	case "NONE":
		return nil, nil
	case "CMD":
		if len(test) < 2 {
			return nil, policyError(svc, "healthcheck test CMD needs a command")
		}
		h.Test = append([]string(nil), test[1:]...)
	case "CMD-SHELL":
		if len(test) != 2 {
			return nil, policyError(svc, "healthcheck test CMD-SHELL takes one command string")
		}
		shell := cfg.Shell
		if len(shell) == 0 {
			shell = []string{"/bin/sh", "-c"}
		}
		h.Test = append(append([]string(nil), shell...), test[1])
	default:
		return nil, policyError(svc, "healthcheck test %q: must start with CMD, CMD-SHELL or NONE", test[0])
	}
	return &h, nil
}

// Docker's local driver rotates by default.
const (
	localMaxSize = 20 << 20
	localMaxFile = 5
)

// logOptions maps `logging:` onto the supervisor's json-file writer.
func logOptions(svc types.ServiceConfig) (runspec.LogOptions, error) {
	var o runspec.LogOptions
	lc := svc.Logging
	if lc == nil {
		return o, nil
	}
	switch lc.Driver {
	case "", runspec.LogJSONFile:
	case "local":
		// Written in json-file format, which our logs command reads.
		o.MaxSize, o.MaxFile = localMaxSize, localMaxFile
	case runspec.LogNone:
		if len(lc.Options) > 0 {
			return o, policyError(svc, "logging driver none takes no options")
		}
		return runspec.LogOptions{Driver: runspec.LogNone}, nil
	default:
		return o, policyError(svc, "logging driver %q is not supported: use json-file, local or none", lc.Driver)
	}
	for k, v := range lc.Options {
		switch k {
		case "max-size":
			if v == "-1" {
				o.MaxSize = 0
				continue
			}
			n, err := units.RAMInBytes(v)
			if err != nil || n <= 0 {
				return o, policyError(svc, "logging option max-size %q: want a size like 10m", v)
			}
			o.MaxSize = n
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return o, policyError(svc, "logging option max-file %q: want a number >= 1", v)
			}
			o.MaxFile = n
		case "compress":
			if b, err := strconv.ParseBool(v); err != nil || b {
				return o, policyError(svc, "logging option compress=%s is not supported: rotated logs stay uncompressed", v)
			}
		default:
			return o, policyError(svc, "logging option %q is not supported: use max-size and max-file", k)
		}
	}
	if o.MaxFile > 1 && o.MaxSize == 0 {
		return o, policyError(svc, "logging option max-file needs max-size")
	}
	return o, nil
}
