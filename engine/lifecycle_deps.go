package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
)

// Which services start, stop and restart act on, as Docker Compose picks
// them (pkg/compose/start.go, stop.go, restart.go): the project of the
// compose files when they are at hand, else one rebuilt from the
// containers' labels; start adds the named services' dependencies, restart
// the services that depend on them with `restart: true`.

// lifecycleProject is p, or (no compose files) the project the containers'
// labels describe: their services and depends_on, as Docker Compose's
// projectFromName rebuilds it.
func lifecycleProject(name string, p *types.Project, recs []*record.Record) *types.Project {
	if p != nil {
		return p
	}
	q := &types.Project{Name: name, Services: types.Services{}}
	for _, r := range recs {
		if r.Labels[record.LabelOneoff] == "True" {
			continue
		}
		if _, ok := q.Services[r.Service]; ok {
			continue
		}
		svc := types.ServiceConfig{Name: r.Service}
		svc.DependsOn = dependsOnLabel(r.Labels[record.LabelDependsOn])
		q.Services[r.Service] = svc
	}
	return q
}

// dependsOnLabel parses com.docker.compose.depends_on
// ("db:service_healthy:true,cache:service_started:false").
func dependsOnLabel(v string) types.DependsOnConfig {
	deps := types.DependsOnConfig{}
	for _, item := range strings.Split(v, ",") {
		parts := strings.Split(item, ":")
		if parts[0] == "" {
			continue
		}
		d := types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
		if len(parts) > 1 && parts[1] != "" {
			d.Condition = parts[1]
		}
		d.Restart = len(parts) > 2 && parts[2] == "true"
		deps[parts[0]] = d
	}
	return deps
}

// startSet is what `start SERVICE...` starts: the services and everything
// they depend on (every service when none is named), with their graph.
func startSet(p *types.Project, named []string) (*graph.Graph, error) {
	g, err := graph.New(withoutMissingDeps(p))
	if err != nil {
		return nil, err
	}
	if len(named) == 0 {
		return g, nil
	}
	return g.Subset(known(g, named), true)
}

// restartSet is what `restart SERVICE...` restarts: the services and,
// unless noDeps, those that depend on them with `restart: true`,
// transitively (every service when none is named); never their own
// dependencies.
func restartSet(p *types.Project, named []string, noDeps bool) (*graph.Graph, error) {
	g, err := graph.New(withoutMissingDeps(p))
	if err != nil {
		return nil, err
	}
	if len(named) == 0 {
		return g, nil
	}
	set := known(g, named)
	if !noDeps {
		set = append(set, restartDependents(p, set)...)
	}
	return g.Subset(set, false)
}

// known keeps the names the graph has: a service named on the command line
// without containers or without a definition is reported by the caller.
func known(g *graph.Graph, names []string) []string {
	in := g.Services()
	var out []string
	for _, n := range names {
		if slices.Contains(in, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// withoutMissingDeps drops depends_on entries on services the project does
// not have (a project rebuilt from labels may lack some), so the graph of
// what exists can be built.
func withoutMissingDeps(p *types.Project) *types.Project {
	q := projectCopy(p)
	for name, s := range q.Services {
		for dep := range s.DependsOn {
			if _, ok := q.Services[dep]; ok {
				continue
			}
			deps := types.DependsOnConfig{}
			for k, v := range s.DependsOn {
				if _, ok := q.Services[k]; ok {
					deps[k] = v
				}
			}
			s.DependsOn = deps
			q.Services[name] = s
			break
		}
	}
	return q
}

// order lists the graph's services in dependency order.
func order(g *graph.Graph) []string {
	var out []string
	_ = g.Walk(context.Background(), graph.Up, 1, func(_ context.Context, s string) error {
		out = append(out, s)
		return nil
	})
	return out
}

// waitFor waits until the dependencies of svc that are in set (and, with
// restartOnly, declared with `restart: true`) meet their depends_on
// condition, as Docker Compose's waitDependencies does before it starts or
// restarts a service. A required dependency without containers, or one
// that fails its condition, is an error; an optional one a warning.
func (e *Engine) waitFor(ctx context.Context, svc types.ServiceConfig, set []string, recs []*record.Record, restartOnly bool) error {
	deps := make([]string, 0, len(svc.DependsOn))
	for dep := range svc.DependsOn {
		deps = append(deps, dep)
	}
	sort.Strings(deps)
	for _, dep := range deps {
		d := svc.DependsOn[dep]
		if restartOnly && !d.Restart || !slices.Contains(set, dep) {
			continue
		}
		if d.Condition == "" || d.Condition == types.ServiceConditionStarted {
			continue // the dependency order took care of it
		}
		var waiting []*record.Record
		for _, r := range recs {
			if r.Service == dep {
				waiting = append(waiting, r)
			}
		}
		if len(waiting) == 0 {
			if d.Required {
				return fmt.Errorf("%s is missing dependency %s: %w", svc.Name, dep, errdefs.ErrFailedPrecondition)
			}
			fmt.Fprintf(e.err, "WARN[0000] %s is missing dependency %s\n", svc.Name, dep)
			continue
		}
		if e.dryRun {
			continue
		}
		for _, r := range waiting {
			err := e.waitCondition(ctx, r, d.Condition)
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !d.Required {
				e.warn(r.Name, fmt.Sprintf("optional dependency %q failed: %s", dep, errdefs.Message(err)))
				continue
			}
			return err
		}
	}
	return nil
}
