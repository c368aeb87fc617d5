package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
)

// Resume is `compose system resume`, what the boot unit runs (there is no
// daemon to do it): for every project of the state root it repairs what
// the reboot left stale, then starts the containers whose restart policy
// says they run: `always`, and `unless-stopped` unless the user stopped
// them, as Docker's daemon does when it starts. They start in dependency
// order, without waiting for depends_on conditions (their restart policy
// copes with a dependency that is not ready yet); containers that never
// ran, one-off containers and other policies stay as they are. A project
// that fails does not keep the others from starting.
func (e *Engine) Resume(ctx context.Context) error {
	all, err := e.containers("")
	if err != nil {
		return err
	}
	var projects []string
	for _, r := range all {
		if !slices.Contains(projects, r.Project) {
			projects = append(projects, r.Project)
		}
	}
	slices.Sort(projects)
	e.beginProgress("start")
	defer e.endProgress()
	var errs []error
	for _, p := range projects {
		if err := e.resumeProject(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) resumeProject(ctx context.Context, project string) error {
	lock, err := e.lockProject(ctx, project)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	errs := []error{e.repairProject(ctx, project)}
	recs, err := e.containers(project)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var want []*record.Record
	for _, r := range recs {
		if resumes(r) && !isLive(r) {
			want = append(want, r)
		}
	}
	if len(want) == 0 {
		return errors.Join(errs...)
	}
	if err := e.would(func() error { return e.ensureNetworks(ctx, want) }); err != nil {
		return errors.Join(append(errs, err)...)
	}
	g, err := startSet(lifecycleProject(project, nil, recs), nil)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, s := range order(g) {
		for _, r := range want {
			if r.Service == s {
				errs = append(errs, e.startRecord(ctx, r))
			}
		}
	}
	return errors.Join(errs...)
}

// resumes reports whether the container comes back at boot: it ran
// before, and its restart policy is always, or unless-stopped and the
// user did not stop it.
func resumes(r *record.Record) bool {
	if r.Oneoff() || recordState(r).StartedAt.IsZero() {
		return false
	}
	switch r.Spec.Restart.Name {
	case runspec.RestartAlways:
		return true
	case runspec.RestartUnlessStopped:
		return !container.StoppedByUser(r.Dir)
	}
	return false
}
