package project

import (
	"fmt"
	"maps"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

// CheckContainerNames fails when two of the services (every service when
// none is given) set the same container_name. Docker Compose checks only
// the services a command acts on (pkg/compose/create.go checks the
// selected project), so a clash between services `up` leaves alone is no
// error.
func CheckContainerNames(p *types.Project, services []string) error {
	q := *p
	if len(services) > 0 {
		q.Services = types.Services{}
		for _, s := range services {
			if svc, ok := p.Services[s]; ok {
				q.Services[s] = svc
			}
		}
	}
	if err := q.CheckContainerNameUnicity(); err != nil {
		return fmt.Errorf("%s: %w", oneLine(err.Error()), errdefs.ErrInvalidArgument)
	}
	return nil
}

// resolveSelectedEnvironment folds env_file into environment for the
// services and everything they depend on, and leaves the other services
// as loaded: like Docker Compose's up, run and create (which resolve the
// environment of the selected project only, cmd/compose/compose.go), an
// env_file missing from a service the command does not touch is no error.
func resolveSelectedEnvironment(p *types.Project, services []string) (*types.Project, error) {
	all := maps.Clone(p.Services)
	maps.Copy(all, p.DisabledServices)
	want := map[string]bool{}
	var add func(string)
	add = func(name string) {
		svc, ok := all[name]
		if !ok || want[name] {
			return
		}
		want[name] = true
		for dep := range svc.DependsOn {
			add(dep)
		}
	}
	for _, s := range services {
		add(s)
	}
	sub := *p
	sub.Services = types.Services{}
	for name := range want {
		sub.Services[name] = all[name]
	}
	resolved, err := sub.WithServicesEnvironmentResolved(true)
	if err != nil {
		return nil, err
	}
	q := *p
	q.Services, q.DisabledServices = maps.Clone(p.Services), maps.Clone(p.DisabledServices)
	for name, svc := range resolved.Services {
		if _, ok := q.Services[name]; ok {
			q.Services[name] = svc
		} else {
			q.DisabledServices[name] = svc
		}
	}
	return &q, nil
}
