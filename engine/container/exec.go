package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"

	"github.com/composer-dev/compose/errdefs"
)

// ExecArg is the argv[1] that makes the binary run a detached exec
// (ExecDetachedMain): a detached exec needs a parent that outlives the CLI,
// since the container kills its processes when their parent dies.
const ExecArg = "__exec"

// ExecSpec is a process to run in a running container.
type ExecSpec struct {
	Args       []string
	Env        []string // NAME=VALUE, added to the container's environment
	Cwd        string   // "" = the container's working dir
	User       string   // "" = the container's user
	Privileged bool     // all capabilities
	Tty        bool     // a pseudo-terminal; Stdout gets the one raw stream
	Detach     bool     // start it and return at once (stdio is discarded)

	Stdin          io.Reader // nil = no input
	Stdout, Stderr io.Writer // nil = discard
	Resize         <-chan WindowSize
	Size           WindowSize // initial terminal size (Tty); zero = the kernel's default

	onStart func() // called once the process runs (the detached helper's report)
}

// Exec runs a process in the running container in dir and returns its exit
// code (128+N when killed by signal N), as `docker exec` reports it.
func (r *Runtime) Exec(ctx context.Context, dir string, es ExecSpec) (int, error) {
	if len(es.Args) == 0 || es.Args[0] == "" {
		return 0, fmt.Errorf("exec: no command specified: %w", errdefs.ErrInvalidArgument)
	}
	spec, c, err := r.loadRunning(dir)
	if err != nil {
		return 0, err
	}
	if es.Cwd != "" && !strings.HasPrefix(es.Cwd, "/") {
		return 0, fmt.Errorf("exec: working dir %q must be absolute: %w", es.Cwd, errdefs.ErrInvalidArgument)
	}
	if es.Detach {
		return 0, r.execDetached(ctx, dir, es)
	}
	proc, err := execProcess(spec, dir, es)
	if err != nil {
		return 0, err
	}
	return runProcess(ctx, c, proc, es)
}

// loadRunning returns the spec and libcontainer handle of a running,
// unpaused container.
func (r *Runtime) loadRunning(dir string) (Spec, *libcontainer.Container, error) {
	spec, err := ReadSpec(dir)
	if err != nil {
		return spec, nil, err
	}
	st, err := ReadState(dir)
	if err != nil || st.Status != StatusRunning {
		return spec, nil, fmt.Errorf("container %s is not running: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
	}
	c, err := libcontainer.Load(libcontainerRoot(r.RunDir), spec.ID)
	if err != nil {
		return spec, nil, fmt.Errorf("container %s is not running: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
	}
	if s, err := c.Status(); err == nil && s == libcontainer.Paused {
		return spec, nil, fmt.Errorf("container %s is paused, unpause the container before exec: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
	}
	return spec, c, nil
}

// execProcess describes the process the way Docker derives an exec from
// its container: same user, env and working dir unless overridden.
func execProcess(spec Spec, dir string, es ExecSpec) (*libcontainer.Process, error) {
	user := es.User
	if user == "" {
		user = spec.User
	}
	u, err := resolveUser(mergedDir(dir), user, spec.Options.GroupAdd...)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
	}
	cwd := es.Cwd
	if cwd == "" {
		cwd = spec.Cwd
	}
	if cwd == "" {
		cwd = "/"
	}
	env := processEnv(spec.Env, spec.Hostname)
	if es.Tty {
		env = append(env, "TERM=xterm")
	}
	env = append(env, es.Env...)
	proc := &libcontainer.Process{
		Args: es.Args, Env: env, Cwd: cwd,
		UID: u.UID, GID: u.GID, AdditionalGroups: u.Groups,
	}
	switch {
	case es.Privileged:
		all := grantableCaps() // what this host lets us grant, as for privileged containers
		proc.Capabilities = &configs.Capabilities{Bounding: all, Effective: all, Permitted: all}
	case u.UID != 0:
		// Like the container's own process: a non-root user keeps the bounding set only.
		if cfg, err := savedCaps(dir); err == nil {
			proc.Capabilities = &configs.Capabilities{Bounding: cfg.Bounding}
		}
	}
	return proc, nil
}

// savedCaps returns the capabilities the container was created with.
func savedCaps(dir string) (*configs.Capabilities, error) {
	saved, err := readSaved(dir)
	if err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(libcontainerRoot(saved.RunDir), saved.ID)
	if err != nil {
		return nil, err
	}
	cfg := c.Config()
	if cfg.Capabilities == nil {
		return nil, errors.New("no capabilities")
	}
	return cfg.Capabilities, nil
}

// runProcess runs proc in c with es's stdio and waits for it.
func runProcess(ctx context.Context, c *libcontainer.Container, proc *libcontainer.Process, es ExecSpec) (int, error) {
	sio, err := newExecIO(proc, es)
	if err != nil {
		return 0, err
	}
	defer sio.close()
	started := make(chan error, 1)
	exited := make(chan int, 1)
	go func() {
		// The process gets SIGKILL when the thread that forked it exits:
		// keep this thread until the process is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := c.Run(proc); err != nil {
			started <- err
			return
		}
		started <- nil
		ps, _ := proc.Wait()
		exited <- exitCode(ps)
	}()
	if err := <-started; err != nil {
		return 0, execStartError(err)
	}
	if err := sio.started(); err != nil {
		_ = proc.Signal(syscall.SIGKILL)
		<-exited
		return 0, err
	}
	if es.onStart != nil {
		es.onStart()
	}
	select {
	case code := <-exited:
		sio.finish()
		return code, nil
	case <-ctx.Done():
		_ = proc.Signal(syscall.SIGKILL)
		<-exited
		sio.finish()
		return 0, ctx.Err()
	}
}

// execStartError turns libcontainer's start error into Docker's message and
// the class the CLI maps to exit codes 126/127.
func execStartError(err error) error {
	msg := initCause(err)
	switch startExitCode(msg) {
	case 127, 126:
		return &StartError{Msg: "OCI runtime exec failed: " + msg, ExitCode: startExitCode(msg), Class: errdefs.ErrInvalidArgument}
	}
	return errors.New("exec: " + msg)
}

// execDetached hands the exec to a detached helper process (`Exe __exec
// DIR`, spec on stdin) and returns once the process started.
func (r *Runtime) execDetached(ctx context.Context, dir string, es ExecSpec) error {
	b, err := json.Marshal(detachedExec{Args: es.Args, Env: es.Env, Cwd: es.Cwd, User: es.User, Privileged: es.Privileged, Tty: es.Tty, RunDir: r.RunDir})
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, r.Exe, ExecArg, dir)
	cmd.Stdin = strings.NewReader(string(b))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The helper reports on stdout once the process started, then keeps
	// running as its parent; we only wait for that report.
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	line, _ := io.ReadAll(out)
	if strings.TrimSpace(string(line)) == "started" {
		go func() { _ = cmd.Wait() }()
		return nil
	}
	_ = cmd.Wait()
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		msg = "exec: the helper exited before the process started"
	}
	return errors.New(msg)
}

// detachedExec is what `__exec` reads on stdin.
type detachedExec struct {
	Args       []string
	Env        []string
	Cwd        string
	User       string
	Privileged bool
	Tty        bool
	RunDir     string
}

// ExecDetachedMain is the body of `<exe> __exec DIR`: it starts the exec
// read from stdin, prints "started" on stdout (then closes it) and waits
// for the process, discarding its output.
func ExecDetachedMain(ctx context.Context, dir string) error {
	var d detachedExec
	if err := json.NewDecoder(os.Stdin).Decode(&d); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	r := &Runtime{RunDir: d.RunDir}
	spec, c, err := r.loadRunning(dir)
	if err != nil {
		return err
	}
	es := ExecSpec{Args: d.Args, Env: d.Env, Cwd: d.Cwd, User: d.User, Privileged: d.Privileged, Tty: d.Tty}
	proc, err := execProcess(spec, dir, es)
	if err != nil {
		return err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	es.Stdin, es.Stdout, es.Stderr = nil, null, null
	report := os.Stdout
	es.onStart = func() {
		fmt.Fprintln(report, "started")
		report.Close()
	}
	_, err = runProcess(ctx, c, proc, es)
	return err
}
