package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/internal/store"
)

// The entry points of the full binary that the supervisor runs.
const (
	CreateArg     = supervisor.CreateArg
	CleanupArg    = supervisor.CleanupArg
	ExecHealthArg = supervisor.ExecHealthArg
)

// Create is `<exe> __create <dir>`, run by the supervisor with the
// container's stdio on the fds the supervisor package names: it prepares,
// creates and starts the container, reports its init's pid, waits for the
// supervisor's ack and returns, leaving the init to the supervisor (a
// subreaper). On failure everything it did is undone and the error reported.
func Create(ctx context.Context, dir string, hooks Hooks) error {
	// Started first, so the grace period it waits for overlaps our start-up.
	stopPriming := primeCgroupMigrations()
	defer stopPriming()
	rep := os.NewFile(supervisor.CreateReportFD, "report")
	if rep == nil {
		return errors.New("create: no report fd")
	}
	defer rep.Close()
	report := func(m supervisor.CreateReport) {
		_ = json.NewEncoder(rep).Encode(m)
		// Wait for the ack (or the supervisor's death): until then the init
		// must stay our child, so it cannot exit unwatched.
		var b [1]byte
		_, _ = rep.Read(b[:])
	}
	saved, err := readSaved(dir)
	if err != nil {
		report(supervisor.CreateReport{Ready: supervisor.Ready{Error: err.Error(), Class: className(err)}})
		return err
	}
	cr := &creator{spec: &saved.Spec, dir: dir, root: libcontainerRoot(saved.RunDir), hooks: hooks}
	m, err := cr.create(ctx)
	if err != nil {
		report(supervisor.CreateReport{Ready: supervisor.Ready{Error: err.Error(), Class: className(err), ExitCode: startExitCode(err.Error())}})
		return err
	}
	report(m)
	return nil
}

// Cleanup is `<exe> __cleanup <dir>`: it destroys the exited container
// (processes, cgroup, libcontainer state, rootfs mount) and runs the
// Cleanup hook.
func Cleanup(ctx context.Context, dir string, hooks Hooks) error {
	saved, err := readSaved(dir)
	if err != nil {
		return err
	}
	return (&creator{spec: &saved.Spec, dir: dir, root: libcontainerRoot(saved.RunDir), hooks: hooks}).teardown(ctx, nil, true)
}

// ExecHealth is `<exe> __exec-health <dir> ARG...`: it runs one healthcheck
// probe in the running container with its output on our stdout, and returns
// its exit code. SIGTERM (the probe timed out) kills the probe.
func ExecHealth(ctx context.Context, dir string, args []string) int {
	saved, err := readSaved(dir)
	if err != nil {
		fmt.Fprintln(os.Stdout, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r := &Runtime{RunDir: saved.RunDir, Exe: saved.Exe}
	code, err := r.Exec(ctx, dir, ExecSpec{Args: args, Stdout: os.Stdout, Stderr: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stdout, err)
		var se *StartError
		if errors.As(err, &se) && se.ExitCode != 0 {
			return se.ExitCode
		}
		return 1
	}
	return code
}

// creator creates one run of a container.
type creator struct {
	spec  *Spec
	dir   string
	root  string // libcontainer's state root
	hooks Hooks
}

// create prepares and starts the container; on error everything it did is undone.
func (cr *creator) create(ctx context.Context) (_ supervisor.CreateReport, retErr error) {
	s := cr.spec
	if s.Hostname == "" {
		s.Hostname = s.ID[:min(12, len(s.ID))]
	}
	// Held while the leftovers go and the network is set up (see
	// repair.go): a repair or a sweep of stale endpoints never overlaps it.
	lock, err := store.LockDir(ctx, cr.dir)
	if err != nil {
		return supervisor.CreateReport{}, err
	}
	defer lock.Unlock()
	if err := cr.clearLeftovers(ctx); err != nil {
		return supervisor.CreateReport{}, err
	}

	prepared := false
	var c *libcontainer.Container
	defer func() {
		if retErr != nil {
			_ = cr.teardown(ctx, c, prepared) // the start's error says what went wrong
		}
	}()
	// The rootfs is mounted while Prepare sets up the network: neither
	// needs the other. On failure teardown unmounts whatever got mounted.
	mounted := make(chan error, 1)
	go func(lower []string) { mounted <- mountRootfs(cr.dir, lower) }(s.Lower)
	if cr.hooks.Prepare != nil {
		if err := cr.hooks.Prepare(ctx, s); err != nil {
			<-mounted
			return supervisor.CreateReport{}, err
		}
	}
	prepared = true
	_ = lock.Unlock()
	if err := <-mounted; err != nil {
		return supervisor.CreateReport{}, err
	}
	u, cfg, err := cr.config(mergedDir(cr.dir))
	if err != nil {
		return supervisor.CreateReport{}, err
	}
	c, err = libcontainer.Create(cr.root, s.ID, cfg)
	if err != nil {
		return supervisor.CreateReport{}, err
	}
	pid, err := startInit(c, cr.process(u))
	if err != nil {
		return supervisor.CreateReport{}, err
	}
	return supervisor.CreateReport{Pid: pid, OOMFile: oomFile(c)}, nil
}

// clearLeftovers undoes what a previous run that did not finish cleanly
// left behind, so this run starts from nothing.
func (cr *creator) clearLeftovers(ctx context.Context) error {
	destroyLeftover(cr.root, cr.spec.ID)
	// Nothing is mounted below a rootfs dir that does not exist (a first
	// start): the look at every mount on the host is not needed then.
	if _, err := os.Lstat(rootfsDir(cr.dir)); err == nil {
		if err := unmountUnder(resolvedPath(rootfsDir(cr.dir))); err != nil {
			return err
		}
	}
	// A run whose teardown was left to a removal that never came (an
	// interrupted `down`) still holds its network.
	if remove := filepath.Join(cr.dir, supervisor.RemoveFile); fileExists(remove) {
		if cr.hooks.Cleanup != nil {
			if err := cr.hooks.Cleanup(ctx, cr.spec); err != nil {
				return err
			}
		}
		if err := os.Remove(remove); err != nil {
			return err
		}
	}
	// So does one whose supervisor died, unless a command repaired it.
	if _, err := cr.repairLocked(ctx); err != nil {
		return fmt.Errorf("clean up after the supervisor that died: %w", err)
	}
	return nil
}

// config resolves the process's user in the mounted rootfs and makes
// libcontainer's config for a container that outlives us.
func (cr *creator) config(rootfs string) (execUser, *configs.Config, error) {
	s := cr.spec
	u, err := resolveUser(rootfs, s.User, s.Options.GroupAdd...)
	if err != nil {
		return execUser{}, nil, err
	}
	cfg, err := libcontainerConfig(s, rootfs)
	if err != nil {
		return execUser{}, nil, err
	}
	if u.UID != 0 {
		// Like Docker: a non-root user keeps the bounding set only.
		cfg.Capabilities.Effective, cfg.Capabilities.Permitted = nil, nil
	}
	// We exit once the container runs and the supervisor adopts its init:
	// a parent-death signal would kill it then.
	cfg.ParentDeathSignal = 0
	return u, cfg, nil
}

// process is the container's init process, as user u, with the
// supervisor's pipes (or console socket) as its stdio.
func (cr *creator) process(u execUser) *libcontainer.Process {
	s := cr.spec
	cwd := s.Cwd
	if cwd == "" {
		cwd = "/"
	}
	env := processEnv(s.Env, s.Hostname)
	if s.Options.Tty {
		env = append(env, "TERM=xterm")
	}
	proc := &libcontainer.Process{
		Args:             processArgs(s),
		Env:              env,
		Cwd:              cwd,
		UID:              u.UID,
		GID:              u.GID,
		AdditionalGroups: u.Groups,
		// The supervisor's pipes, as real files: no copy goroutines here.
		Stdin: os.NewFile(supervisor.CreateStdinFD, "stdin"),
		Init:  true,
	}
	if s.Options.Tty {
		proc.ConsoleSocket = os.NewFile(supervisor.CreateStdoutFD, "console")
	} else {
		proc.Stdout = os.NewFile(supervisor.CreateStdoutFD, "stdout")
		proc.Stderr = os.NewFile(supervisor.CreateStderrFD, "stderr")
	}
	return proc
}

// startInit starts the container's init, holds it at the start gate if
// there is one, then lets it exec the user's program; it returns the
// init's pid once the program runs.
func startInit(c *libcontainer.Container, proc *libcontainer.Process) (int, error) {
	if err := c.Start(proc); err != nil {
		return 0, errors.New(initCause(err))
	}
	if err := waitGate(); err != nil {
		return 0, err
	}
	if err := c.Exec(); err != nil {
		return 0, errors.New(initCause(err))
	}
	pid, err := proc.Pid()
	if err != nil {
		return 0, err
	}
	waitExec(pid)
	return pid, nil
}

// waitGate holds a gated start until the starter releases it: the
// container is created (namespaces, mounts, network) but its process has
// not run yet, which lets `up` prepare dependents while their
// dependencies start.
func waitGate() error {
	if os.Getenv(supervisor.GateFDEnv) == "" {
		return nil
	}
	gate := os.NewFile(supervisor.CreateGateFD, "gate")
	defer gate.Close()
	var b [1]byte
	if n, _ := gate.Read(b[:]); n != 1 {
		return errors.New("start cancelled")
	}
	return nil
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
		// The exec takes ~100µs after libcontainer returns: poll finely, as
		// this wait is part of every container start.
		time.Sleep(100 * time.Microsecond)
	}
}

// teardown destroys the container, unmounts its rootfs and runs Cleanup,
// whose error it returns.
func (cr *creator) teardown(ctx context.Context, c *libcontainer.Container, cleanup bool) error {
	if c != nil {
		if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
			_ = c.Signal(unix.SIGKILL)
			waitStopped(c, 5*time.Second)
		}
		_ = c.Destroy()
	} else {
		destroyLeftover(cr.root, cr.spec.ID)
	}
	destroyCgroup(cr.spec.ID)
	_ = unmountUnder(resolvedPath(rootfsDir(cr.dir)))
	if cleanup && cr.hooks.Cleanup != nil {
		return cr.hooks.Cleanup(context.WithoutCancel(ctx), cr.spec)
	}
	return nil
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

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func libcontainerRoot(runDir string) string { return filepath.Join(runDir, "runc") }

// resolvedPath resolves symlinks so that mountinfo paths compare equal.
func resolvedPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
