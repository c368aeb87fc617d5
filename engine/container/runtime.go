package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/errdefs"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// pollInterval is how often Wait and Stop look at the state file.
const pollInterval = 20 * time.Millisecond

// Start saves spec in spec.Dir, spawns a detached supervisor for it and
// returns once the container's process runs, or with the supervisor's
// one-line error (a *StartError). After a failed start nothing is left
// running or mounted.
func (r *Runtime) Start(ctx context.Context, spec Spec) error {
	return r.start(ctx, spec, nil)
}

// StartGated is Start with a start gate, the read end of a pipe: the
// container is created at once, and its process starts when a byte is
// written to the pipe (closing it instead cancels the start). It returns as
// Start does, so it blocks until the gate opens.
func (r *Runtime) StartGated(ctx context.Context, spec Spec, gate *os.File) error {
	return r.start(ctx, spec, gate)
}

func (r *Runtime) start(ctx context.Context, spec Spec, gate *os.File) error {
	if err := spec.validate(); err != nil {
		return err
	}
	if st, err := ReadState(spec.Dir); err == nil && live(st) {
		return fmt.Errorf("container %s is already running: %w", spec.name(), errdefs.ErrConflict)
	}
	sup, err := r.supervisorPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.RunDir, 0o700); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(spec.Dir, specFile), savedSpec{Spec: spec, RunDir: r.RunDir, Exe: r.Exe}); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(spec.Dir, supervisor.StopFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	defer rd.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		wr.Close()
		return err
	}
	defer null.Close()
	cmd := exec.Command(sup, spec.Dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{wr} // fd 3
	cmd.Env = append(append(os.Environ(), supervisor.TuningEnv()...), supervisor.ReadyFDEnv+"=3")
	if gate != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, gate) // fd 4
		cmd.Env = append(cmd.Env, supervisor.GateFDEnv+"=4")
	}
	cmd.Dir = "/"
	// Its own session: no terminal signals, and it outlives the caller.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return fmt.Errorf("container %s: start supervisor: %w", spec.name(), err)
	}

	msgc := make(chan supervisor.Ready, 1)
	go func() {
		var m supervisor.Ready
		b, _ := io.ReadAll(rd)
		if err := json.Unmarshal(b, &m); err != nil {
			m = supervisor.Ready{Error: "container " + spec.name() + ": supervisor exited before the container started"}
		}
		msgc <- m
	}()
	var m supervisor.Ready
	select {
	case m = <-msgc:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		r.cleanup(spec.ID, spec.Dir)
		return ctx.Err()
	}
	if m.Error == "" {
		// Reap the supervisor if it exits while we still run; once we exit it
		// is adopted by init (or our subreaper).
		go func() { _ = cmd.Wait() }()
		return nil
	}
	_ = cmd.Wait()
	if m.ExitCode == 0 {
		// The supervisor died without cleaning up.
		r.cleanup(spec.ID, spec.Dir)
	}
	return &StartError{Msg: m.Error, ExitCode: m.ExitCode, Class: classByName(m.Class)}
}

// supervisorPath finds the lean supervisor binary.
func (r *Runtime) supervisorPath() (string, error) {
	p := r.Supervisor
	if p == "" {
		p = filepath.Join(filepath.Dir(r.Exe), SupervisorName)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("supervisor binary %s is missing (it is built and installed beside compose): %w", p, errdefs.ErrFailedPrecondition)
	}
	return p, nil
}

// SupervisorName is the lean supervisor's file name, beside the compose binary.
const SupervisorName = "compose-supervisor"

// requestStop tells the supervisor that the exit that follows is the
// user's doing: the restart policy does not apply to it.
func requestStop(dir string) error {
	return os.WriteFile(filepath.Join(dir, supervisor.StopFile), nil, 0o600)
}

// Stop sends the stop signal (default SIGTERM) to the container's init,
// waits up to timeout for it to exit, then kills it (SIGKILL) and waits
// again. A negative timeout waits forever. No-op if not running.
func (r *Runtime) Stop(ctx context.Context, dir string, timeout time.Duration) error {
	st, err := ReadState(dir)
	if err != nil || !live(st) {
		return ignoreNotFound(err)
	}
	spec, err := ReadSpec(dir)
	if err != nil {
		return err
	}
	sig, err := parseSignal(spec.StopSignal)
	if err != nil {
		return err
	}
	if err := requestStop(dir); err != nil {
		return err
	}
	if err := r.signal(spec.ID, sig); err != nil {
		return err
	}
	if timeout >= 0 {
		wctx, cancel := context.WithTimeout(ctx, timeout)
		_, err = r.Wait(wctx, dir)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := r.signal(spec.ID, unix.SIGKILL); err != nil {
			return err
		}
	}
	_, err = r.Wait(ctx, dir)
	return err
}

// Kill sends sig to the container's init.
func (r *Runtime) Kill(ctx context.Context, dir string, sig syscall.Signal) error {
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	spec, err := ReadSpec(dir)
	if err != nil {
		return err
	}
	if !live(st) {
		return fmt.Errorf("container %s is not running: %w", spec.name(), errdefs.ErrFailedPrecondition)
	}
	if stopping(sig, spec.StopSignal) {
		// Like `docker kill`: a container killed by the user stays down.
		if err := requestStop(dir); err != nil {
			return err
		}
	}
	return r.signal(spec.ID, sig)
}

// Wait waits until the container is no longer running or starting and
// returns its state.
func (r *Runtime) Wait(ctx context.Context, dir string) (State, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		st, err := ReadState(dir)
		if err != nil || !live(st) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// Remove deletes an exited (or never started) container: leftover
// processes, cgroup, libcontainer state and mounts, then dir itself.
func (r *Runtime) Remove(ctx context.Context, dir string) error {
	st, err := ReadState(dir)
	if err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	spec, serr := ReadSpec(dir)
	if err == nil && live(st) {
		return fmt.Errorf("container %s is running: stop it before removing: %w", spec.name(), errdefs.ErrConflict)
	}
	if serr == nil {
		r.cleanup(spec.ID, dir)
	}
	if err := unmountUnder(resolvedPath(dir)); err != nil {
		return fmt.Errorf("container %s: %w", spec.name(), err)
	}
	return os.RemoveAll(dir)
}

// stopping reports whether sig is meant to end the container (rather than,
// say, SIGHUP to reload it).
func stopping(sig syscall.Signal, stopSignal string) bool {
	if s, err := parseSignal(stopSignal); err == nil && s == sig {
		return true
	}
	return sig == unix.SIGKILL || sig == unix.SIGTERM || sig == unix.SIGINT
}

// signal sends sig to the container's init through libcontainer, which
// checks the init's start time so a reused pid is never signalled.
func (r *Runtime) signal(id string, sig syscall.Signal) error {
	c, err := libcontainer.Load(libcontainerRoot(r.RunDir), id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil // already gone: the supervisor is recording the exit
	}
	if err != nil {
		return err
	}
	if err := c.Signal(sig); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return err
	}
	return nil
}

// cleanup removes what a dead supervisor may have left: the container's
// processes, cgroup, libcontainer state and rootfs mount.
func (r *Runtime) cleanup(id, dir string) {
	destroyLeftover(libcontainerRoot(r.RunDir), id)
	destroyCgroup(id)
	_ = unmountUnder(resolvedPath(rootfsDir(dir)))
}

func ignoreNotFound(err error) error {
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}
