package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/pflag"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
)

// convergeFlags are the flags of `up` that say how a running project is
// brought in line with its files.
type convergeFlags struct {
	opts  engine.ConvergeOptions
	scale []string
}

func (c *convergeFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&c.opts.ForceRecreate, "force-recreate", false, "Recreate containers even if their configuration and image haven't changed")
	f.BoolVar(&c.opts.NoRecreate, "no-recreate", false, "If containers already exist, don't recreate them. Incompatible with --force-recreate.")
	f.BoolVar(&c.opts.AlwaysRecreateDeps, "always-recreate-deps", false, "Recreate dependent containers. Incompatible with --no-recreate.")
	f.BoolVar(&c.opts.NoDeps, "no-deps", false, "Don't start linked services")
	f.BoolVar(&c.opts.NoStart, "no-start", false, "Don't start the services after creating them")
	f.BoolVarP(&c.opts.RenewAnonVolumes, "renew-anon-volumes", "V", false, "Recreate anonymous volumes instead of retrieving data from the previous containers")
	f.BoolVar(&c.opts.RemoveOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.StringArrayVar(&c.scale, "scale", nil, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.")
}

// options returns the engine's options, --scale parsed and the orphan
// settings of the environment applied as Docker Compose applies them:
// COMPOSE_REMOVE_ORPHANS (with orphanEnv: `up`'s, not `create`'s) unless
// --remove-orphans is given, COMPOSE_IGNORE_ORPHANS. Both are read from
// the project's environment, where the .env's COMPOSE_ keys are too.
func (c *convergeFlags) options(f *pflag.FlagSet, p *types.Project, orphanEnv bool) (engine.ConvergeOptions, error) {
	o := c.opts
	if orphanEnv && !f.Changed("remove-orphans") {
		o.RemoveOrphans = projectEnvBool(p, "COMPOSE_REMOVE_ORPHANS")
	}
	o.IgnoreOrphans = projectEnvBool(p, "COMPOSE_IGNORE_ORPHANS")
	scale, err := parseScale(c.scale, "--scale")
	o.Scale = scale
	return o, err
}

// projectEnvBool is a boolean of the project's environment (the process's
// and the .env's), parsed as Docker Compose parses it.
func projectEnvBool(p *types.Project, key string) bool {
	if p == nil {
		return envBool(key)
	}
	b, _ := strconv.ParseBool(p.Environment[key])
	return b
}

// parseScale reads SERVICE=NUM pairs.
func parseScale(pairs []string, flag string) (map[string]int, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]int{}
	for _, s := range pairs {
		name, num, ok := strings.Cut(s, "=")
		n, err := strconv.Atoi(num)
		if !ok || name == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("%s %q: want SERVICE=NUM with NUM a number of replicas: %w", flag, s, errdefs.ErrInvalidArgument)
		}
		out[name] = n
	}
	return out, nil
}
