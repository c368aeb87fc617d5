package container

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// readyFDEnv names the inherited fd on which the supervisor reports to Start.
const readyFDEnv = "_COMPOSE_READY_FD"

// readyMsg is the supervisor's one report to Start.
type readyMsg struct {
	Error    string `json:",omitempty"`
	Class    string `json:",omitempty"`
	ExitCode int    `json:",omitempty"`
}

// Supervise is the supervisor's entry point (`<exe> __supervise <dir>`): it
// starts the container saved in dir, reports to Start, waits for the
// container to exit, records the exit, tears everything down and returns.
// runDir overrides the one Start recorded when not empty. ctx bounds only
// the hooks: the container's life does not depend on it.
func Supervise(ctx context.Context, dir string, runDir string, hooks Hooks) error {
	report := readyReporter()
	// Orphans of the container come back to us, not to the host's init.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

	saved, err := readSaved(dir)
	if err != nil {
		report(readyMsg{Error: err.Error(), Class: className(err)})
		return err
	}
	if runDir == "" {
		runDir = saved.RunDir
	}
	sv := &supervisor{spec: &saved.Spec, dir: dir, root: libcontainerRoot(runDir), hooks: hooks}
	return sv.run(ctx, report)
}

// supervisor runs one container.
type supervisor struct {
	spec  *Spec
	dir   string
	root  string // libcontainer's state root
	hooks Hooks
}

func (sv *supervisor) record(st State) {
	st.SupervisorPid = os.Getpid()
	st.SupervisorStart = procStart(st.SupervisorPid)
	if st.Status == StatusExited || st.Error != "" {
		// No supervisor looks after an exited or failed container.
		st.SupervisorPid, st.SupervisorStart = 0, 0
	}
	_ = writeState(sv.dir, st)
}

func (sv *supervisor) run(ctx context.Context, report func(readyMsg)) error {
	sv.record(State{Status: StatusCreated})
	r, err := sv.start(ctx)
	if err != nil {
		msg := readyMsg{Error: err.Error(), Class: className(err), ExitCode: startExitCode(err.Error())}
		sv.record(State{Status: StatusCreated, ExitCode: msg.ExitCode, Error: msg.Error, FinishedAt: time.Now().UTC()})
		report(msg)
		return err
	}
	sv.record(State{Status: StatusRunning, Pid: r.pid, StartedAt: r.started})
	report(readyMsg{})

	// The restart policy and healthchecks will live in this loop.
	code, oom := r.wait()
	finished := time.Now().UTC()
	sv.teardown(ctx, r.c, true)
	sv.record(State{Status: StatusExited, ExitCode: code, OOMKilled: oom, StartedAt: r.started, FinishedAt: finished})
	return nil
}

// running is a started container.
type running struct {
	c       *libcontainer.Container
	pid     int
	started time.Time
	exited  chan exitResult
	copies  sync.WaitGroup
}

type exitResult struct {
	code int
	oom  bool
}

// start prepares and starts the container; on error everything it did is undone.
func (sv *supervisor) start(ctx context.Context) (_ *running, retErr error) {
	s := sv.spec
	if s.Hostname == "" {
		s.Hostname = s.ID[:min(12, len(s.ID))]
	}
	// Leftovers of a previous run that did not finish cleanly.
	destroyLeftover(sv.root, s.ID)
	if err := unmountUnder(resolvedPath(rootfsDir(sv.dir))); err != nil {
		return nil, err
	}

	prepared := false
	var c *libcontainer.Container
	defer func() {
		if retErr != nil {
			sv.teardown(ctx, c, prepared)
		}
	}()
	if sv.hooks.Prepare != nil {
		if err := sv.hooks.Prepare(ctx, s); err != nil {
			return nil, err
		}
	}
	prepared = true

	if err := mountRootfs(sv.dir, s.Lower); err != nil {
		return nil, err
	}
	rootfs := mergedDir(sv.dir)
	u, err := resolveUser(rootfs, s.User)
	if err != nil {
		return nil, err
	}
	cfg, err := libcontainerConfig(s, rootfs)
	if err != nil {
		return nil, err
	}
	if u.UID != 0 {
		// Like Docker: a non-root user keeps the bounding set only.
		cfg.Capabilities.Effective, cfg.Capabilities.Permitted = nil, nil
	}
	c, err = libcontainer.Create(sv.root, s.ID, cfg)
	if err != nil {
		return nil, err
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cwd := s.Cwd
	if cwd == "" {
		cwd = "/"
	}
	proc := &libcontainer.Process{
		Args:             s.Args,
		Env:              processEnv(s.Env, s.Hostname),
		Cwd:              cwd,
		UID:              u.UID,
		GID:              u.GID,
		AdditionalGroups: u.Groups,
		Stdout:           outW, // real files: no copy goroutines in libcontainer
		Stderr:           errW,
		Init:             true,
	}
	r := &running{c: c, exited: make(chan exitResult, 1)}
	startErr := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the forking thread exits, not
		// the process: keep this thread until the container is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := c.Run(proc); err != nil {
			startErr <- err
			return
		}
		startErr <- nil
		ps, _ := proc.Wait()
		r.exited <- exitResult{code: exitCode(ps), oom: oomKilled(c)}
	}()
	err = <-startErr
	outW.Close()
	errW.Close()
	r.copy(sv.hooks.Output, "stdout", outR)
	r.copy(sv.hooks.Output, "stderr", errR)
	if err != nil {
		r.copies.Wait()
		return nil, errors.New(initCause(err))
	}
	r.pid, _ = proc.Pid()
	waitExec(r.pid)
	r.started = time.Now().UTC()
	return r, nil
}

// waitExec waits (briefly) until the container's init has exec'd the
// user's program. libcontainer returns once init passed its last sync point,
// still as a Go program: a signal sent then would kill it with Go's exit
// code 2 rather than reach the program.
func waitExec(pid int) {
	initCmdline := os.Args[0] + "\x00init\x00"
	path := "/proc/" + strconv.Itoa(pid) + "/cmdline"
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != initCmdline {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// copy drains one of the container's streams into the hook's writer.
func (r *running) copy(output func(string) io.Writer, stream string, src *os.File) {
	var dst io.Writer
	if output != nil {
		dst = output(stream)
	}
	if dst == nil {
		dst = io.Discard
	}
	r.copies.Add(1)
	go func() {
		defer r.copies.Done()
		_, _ = io.Copy(dst, src)
		src.Close()
		if c, ok := dst.(io.Closer); ok {
			c.Close()
		}
	}()
}

// wait returns the init's exit code once it exited and its output is drained.
func (r *running) wait() (int, bool) {
	res := <-r.exited
	// With a private pid namespace, the kernel kills the rest of the
	// container when init dies, so the pipes reach EOF.
	r.copies.Wait()
	return res.code, res.oom
}

// teardown destroys the container, unmounts its rootfs and runs Cleanup.
func (sv *supervisor) teardown(ctx context.Context, c *libcontainer.Container, cleanup bool) {
	if c != nil {
		if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
			_ = c.Signal(unix.SIGKILL)
			waitStopped(c, 5*time.Second)
		}
		_ = c.Destroy()
	}
	destroyCgroup(sv.spec.ID)
	_ = unmountUnder(resolvedPath(rootfsDir(sv.dir)))
	if cleanup && sv.hooks.Cleanup != nil {
		sv.hooks.Cleanup(context.WithoutCancel(ctx), sv.spec)
	}
}

// exitCode turns a wait status into Docker's exit code: 128+N for signal N.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return exitCodeLost
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// readyReporter returns a function that sends the one report to Start, or
// does nothing when the supervisor was not started by Start.
func readyReporter() func(readyMsg) {
	n, err := strconv.Atoi(os.Getenv(readyFDEnv))
	os.Unsetenv(readyFDEnv)
	if err != nil || n < 3 {
		return func(readyMsg) {}
	}
	f := os.NewFile(uintptr(n), "ready")
	unix.CloseOnExec(n)
	var once sync.Once
	return func(m readyMsg) {
		once.Do(func() {
			_ = json.NewEncoder(f).Encode(m)
			f.Close()
		})
	}
}

func libcontainerRoot(runDir string) string { return filepath.Join(runDir, "runc") }

// resolvedPath resolves symlinks so that mountinfo paths compare equal.
func resolvedPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
