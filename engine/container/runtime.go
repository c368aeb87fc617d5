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

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
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
	if err := validateSpec(&spec); err != nil {
		return err
	}
	stopPriming := primeCgroupMigrations()
	defer stopPriming()
	if st, err := ReadState(spec.Dir); err == nil && live(st) {
		return fmt.Errorf("container %s is already running: %w", spec.DisplayName(), errdefs.ErrConflict)
	}
	sup, err := r.supervisorPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.RunDir, 0o700); err != nil {
		return err
	}
	synced, err := r.saveSpec(spec)
	if err != nil {
		return err
	}
	defer func() { <-synced }()
	if err := os.Remove(filepath.Join(spec.Dir, supervisor.StopFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	_ = os.Remove(filepath.Join(spec.Dir, PausedFileName)) // a run that ended paused

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
	cmd := supervisorCommand(sup, spec.Dir, null, wr, gate)
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return fmt.Errorf("container %s: start supervisor: %w", spec.DisplayName(), err)
	}
	return r.awaitSupervisor(ctx, cmd, rd, spec)
}

// saveSpec writes the spec the supervisor and later commands read. It must
// be on disk by the time Start returns (it outlives reboots): the returned
// channel closes then, and the wait for the disk overlaps the supervisor's
// start.
func (r *Runtime) saveSpec(spec Spec) (<-chan struct{}, error) {
	specPath := filepath.Join(spec.Dir, specFile)
	data, err := json.MarshalIndent(savedSpec{Spec: spec, RunDir: r.RunDir, Exe: r.Exe}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := store.WriteFileVolatile(specPath, data, 0o600); err != nil {
		return nil, err
	}
	synced := make(chan struct{})
	go func() {
		// A failure here (a failing disk) only costs the crash safety of
		// a file that is written and readable: not worth failing a start
		// that has happened.
		_ = store.Sync(specPath)
		close(synced)
	}()
	return synced, nil
}

// supervisorCommand is the supervisor's command line for the container in
// dir: it reports on ready (fd 3) and takes the start gate, if any, on fd 4.
func supervisorCommand(sup, dir string, null, ready, gate *os.File) *exec.Cmd {
	cmd := exec.Command(sup, dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{ready} // fd 3
	cmd.Env = append(append(os.Environ(), supervisor.TuningEnv()...), supervisor.ReadyFDEnv+"=3")
	if gate != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, gate) // fd 4
		cmd.Env = append(cmd.Env, supervisor.GateFDEnv+"=4")
	}
	cmd.Dir = "/"
	// Its own session: no terminal signals, and it outlives the caller.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// awaitSupervisor waits for the started supervisor's one report on ready:
// nil once the container runs, else its error. When ctx ends first, the
// supervisor is killed and what it left is cleaned up.
func (r *Runtime) awaitSupervisor(ctx context.Context, cmd *exec.Cmd, ready *os.File, spec Spec) error {
	msgc := make(chan supervisor.Ready, 1)
	go func() {
		var m supervisor.Ready
		b, _ := io.ReadAll(ready)
		if err := json.Unmarshal(b, &m); err != nil {
			m = supervisor.Ready{Error: "container " + spec.DisplayName() + ": supervisor exited before the container started"}
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
// again. A negative timeout waits forever. No-op if not running. It
// returns once the supervisor has recorded the exit.
func (r *Runtime) Stop(ctx context.Context, dir string, timeout time.Duration) error {
	return r.stop(ctx, dir, timeout, true)
}

// Halt stops a container that is removed next (`down`): it returns as
// soon as the container's init is gone, so the next stop can begin, and
// when the container has its own pid namespace (all of it dies with its
// init) the supervisor only records the exit and leaves the teardown to
// Remove, which does it anyway. Wait waits for the record.
func (r *Runtime) Halt(ctx context.Context, dir string, timeout time.Duration) error {
	return r.stop(ctx, dir, timeout, false)
}

func (r *Runtime) stop(ctx context.Context, dir string, timeout time.Duration, recorded bool) error {
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
	if o := spec.Options; !recorded && o.PIDMode == "" && o.PIDNamespacePath == "" && o.PIDContainer == "" {
		if err := os.WriteFile(filepath.Join(dir, supervisor.RemoveFile), nil, 0o600); err != nil {
			return err
		}
	}
	// The stop signal goes to the init alone: straight through a pidfd
	// when its identity is known, without loading libcontainer's state.
	if st.Status == StatusRunning && st.Pid > 0 && st.InitStart != 0 {
		err = signalPid(st.Pid, st.InitStart, sig)
	} else {
		err = r.signal(spec.ID, sig)
	}
	if err != nil {
		return err
	}
	// gone waits for the init's exit when it runs and only that is asked
	// for, else for the recorded exit.
	gone := func(timeout time.Duration) (bool, error) {
		if !recorded && st.Status == StatusRunning && st.Pid > 0 {
			return waitExit(ctx, st.Pid, st.InitStart, timeout)
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if timeout >= 0 {
			wctx, cancel = context.WithTimeout(ctx, timeout)
		}
		defer cancel()
		_, err := r.Wait(wctx, dir)
		if err != nil && ctx.Err() == nil && wctx.Err() != nil {
			return false, nil // timed out
		}
		return err == nil, err
	}
	if timeout >= 0 {
		ok, err := gone(timeout)
		if ok || err != nil {
			return err
		}
		if err := r.signal(spec.ID, unix.SIGKILL); err != nil {
			return err
		}
	}
	_, err = gone(-1)
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
		return fmt.Errorf("container %s is not running: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
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
// its supervisor, which records the exit and then tears down, is gone; it
// wakes on changes of the state file (inotify), then on the supervisor's
// pidfd, so a Remove that follows never races the teardown.
func (r *Runtime) Wait(ctx context.Context, dir string) (State, error) {
	st, err := WaitFor(ctx, dir, func(st State) bool { return !live(st) })
	if err != nil || st.SupervisorPid <= 0 {
		return st, err
	}
	_, err = waitExit(ctx, st.SupervisorPid, st.SupervisorStart, -1)
	return st, err
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
		return fmt.Errorf("container %s is running: stop it before removing: %w", spec.DisplayName(), errdefs.ErrConflict)
	}
	if serr == nil {
		r.cleanup(spec.ID, dir)
		// Left by a supervisor that died; a live one removes its own.
		_ = os.Remove(supervisor.AttachSocket(r.RunDir, spec.ID))
	}
	if err := unmountUnder(resolvedPath(dir)); err != nil {
		return fmt.Errorf("container %s: %w", spec.DisplayName(), err)
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
	// The init may exit between libcontainer's check and the kill (a stop
	// signal sent just before): that is the outcome asked for.
	if err := c.Signal(sig); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// cleanup removes what a dead supervisor may have left: the container's
// processes, cgroup, libcontainer state, rootfs mount and attach socket.
func (r *Runtime) cleanup(id, dir string) {
	destroyLeftover(libcontainerRoot(r.RunDir), id)
	destroyCgroup(id)
	_ = unmountUnder(resolvedPath(rootfsDir(dir)))
	_ = os.Remove(supervisor.AttachSocket(r.RunDir, id))
}

func ignoreNotFound(err error) error {
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}
