package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/composer-dev/compose/errdefs"
)

// StatusPaused is reported (by the engine) for a running container whose
// processes are frozen.
const StatusPaused Status = "paused"

// Pause freezes every process of the running container (cgroup freezer).
func (r *Runtime) Pause(ctx context.Context, dir string) error {
	spec, c, err := r.loadLive(dir)
	if err != nil {
		return err
	}
	if s, _ := c.Status(); s == libcontainer.Paused {
		return fmt.Errorf("container %s is already paused: %w", spec.name(), errdefs.ErrFailedPrecondition)
	}
	if err := c.Pause(); err != nil {
		return fmt.Errorf("container %s: pause: %w", spec.name(), err)
	}
	return nil
}

// Resume thaws a paused container.
func (r *Runtime) Resume(ctx context.Context, dir string) error {
	spec, c, err := r.loadLive(dir)
	if err != nil {
		return err
	}
	if err := c.Resume(); err != nil {
		if errors.Is(err, libcontainer.ErrNotPaused) {
			return fmt.Errorf("container %s is not paused: %w", spec.name(), errdefs.ErrFailedPrecondition)
		}
		return fmt.Errorf("container %s: unpause: %w", spec.name(), err)
	}
	return nil
}

// Paused reports whether the container in dir runs and is frozen.
func (r *Runtime) Paused(dir string) bool {
	spec, err := ReadSpec(dir)
	if err != nil {
		return false
	}
	c, err := libcontainer.Load(libcontainerRoot(r.RunDir), spec.ID)
	if err != nil {
		return false
	}
	s, err := c.Status()
	return err == nil && s == libcontainer.Paused
}

// loadLive returns the spec and libcontainer handle of a running (maybe
// paused) container.
func (r *Runtime) loadLive(dir string) (Spec, *libcontainer.Container, error) {
	spec, err := ReadSpec(dir)
	if err != nil {
		return spec, nil, err
	}
	notRunning := fmt.Errorf("container %s is not running: %w", spec.name(), errdefs.ErrFailedPrecondition)
	if st, err := ReadState(dir); err != nil || st.Status != StatusRunning {
		return spec, nil, notRunning
	}
	c, err := libcontainer.Load(libcontainerRoot(r.RunDir), spec.ID)
	if err != nil {
		return spec, nil, notRunning
	}
	return spec, c, nil
}
