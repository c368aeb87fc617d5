package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// runStep runs a RUN instruction in a container of our runtime.
func (r *run) runStep(ctx context.Context, stage int, parent *state, c *instructions.RunCommand, label string) (*state, error) {
	for _, f := range c.FlagsUsed {
		if f != "mount" && f != "network" {
			return nil, fmt.Errorf("%s: %s: RUN --%s is not supported yet: %w", r.d.name, c.String(), f, errdefs.ErrInvalidArgument)
		}
	}
	mounts, err := r.runMounts(ctx, c, stage, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.d.name, c.String(), err)
	}
	inputs := []string{c.String()}
	for _, m := range mounts {
		inputs = append(inputs, m.input)
	}
	args, err := runArgs(c, parent.cfg.Config.Shell)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.d.name, c.String(), err)
	}
	keyEnv := runEnv(parent)
	argv, _ := json.Marshal(args)
	key := stepKey(parent.key, "RUN", string(argv), strings.Join(keyEnv, "\n"), strings.Join(inputs, "\n"))
	text := "RUN " + strings.Join(c.CmdLine, " ")
	if !c.PrependShell {
		text = "RUN " + string(argv)
	}
	job := &runJob{
		parent: parent, args: args, env: r.withProxyArgs(keyEnv), netns: r.runNetNS(c),
		mounts: mounts, text: text, label: label,
	}
	return r.layerStep(ctx, parent, key, text, label, func(ctx context.Context, dir string, n int) error {
		return r.execRun(ctx, job, dir, n)
	})
}

// runNetNS is the network namespace of a RUN: the host's, or with
// --network=none (or build.network: none) one of its own with only lo.
func (r *run) runNetNS(c *instructions.RunCommand) string {
	netns := runspec.HostNetNS
	switch instructions.GetNetwork(c) {
	case instructions.NetworkNone:
		netns = "" // a namespace of its own with only lo
	case instructions.NetworkHost:
	default: // the build's default (build.network)
		if r.opts.Network == "none" {
			netns = ""
		}
	}
	return netns
}

// runArgs is the command line of a RUN: the exec form as it is, the shell
// form through the stage's SHELL, a script of heredocs through the shell.
func runArgs(c *instructions.RunCommand, shell []string) ([]string, error) {
	if len(c.Files) == 0 {
		return commandLine(shell, c.ShellDependantCmdLine), nil
	}
	script, err := heredocScript(c.ShellDependantCmdLine)
	if err != nil {
		return nil, err
	}
	return append(append([]string(nil), shellOf(shell)...), script), nil
}

// runEnv is a RUN's environment, as the cache key takes it: the stage's
// ARGs overridden by the image's ENV, one value per name.
func runEnv(parent *state) env {
	all := append(append(env(nil), parent.args...), parent.cfg.Config.Env...)
	var dedup env
	for _, kv := range all {
		k, v, _ := strings.Cut(kv, "=")
		dedup = dedup.set(k, v)
	}
	return dedup
}

// withProxyArgs adds Docker's predefined proxy args: they reach RUN
// without an ARG line, and stay out of the cache key and the image.
func (r *run) withProxyArgs(e env) env {
	for _, k := range proxyArgs {
		if v, ok := r.opts.Args[k]; ok {
			if _, set := e.Get(k); !set {
				e = e.set(k, v)
			}
		}
	}
	return e
}

// runJob is a RUN resolved: what its container gets.
type runJob struct {
	parent      *state
	args        []string
	env         env
	netns       string
	mounts      []runMount
	text, label string
}

// execRun is the layer step of a RUN: it runs the container over an
// overlay of the parent in dir and leaves the overlay's upper dir as the
// layer, without the mount points the step's mounts made.
func (r *run) execRun(ctx context.Context, job *runJob, dir string, n int) error {
	ok, err := container.OverlaySupported(r.b.Dir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("building images needs overlayfs under %s: %w", r.b.Dir, errdefs.ErrFailedPrecondition)
	}
	spec, etc, err := r.runSpec(job, dir)
	if err != nil {
		return err
	}
	code, msg, err := r.runContainer(ctx, spec, n)
	if err != nil {
		return fmt.Errorf("%s: %w", job.text, err)
	}
	if err := container.UnmountBuildRootfs(dir); err != nil {
		return err
	}
	for _, m := range job.mounts {
		if m.created != "" {
			dropCreated(container.UpperDir(dir), spec.Lower, m.created)
		}
	}
	for _, m := range etc {
		dropCreated(container.UpperDir(dir), spec.Lower, m.Destination)
	}
	if code != 0 {
		return &StepError{Step: fmt.Sprintf("#%d %s %s", n, job.label, job.text), Command: job.args, ExitCode: code, Msg: msg}
	}
	return nil
}

// runSpec is the step container's spec, with its /etc files and --mount
// mounts made in dir; the /etc mounts are returned too, to be dropped from
// the layer afterwards.
func (r *run) runSpec(job *runJob, dir string) (runspec.Spec, []runspec.Mount, error) {
	id := newID()
	spec := runspec.Spec{
		ID: id, Name: "build-" + id[:12], Dir: dir, Args: job.args, Env: job.env,
		Cwd: job.parent.cfg.Config.WorkingDir, User: job.parent.cfg.Config.User,
		Lower: job.parent.lower(r.b.Images), NetNS: job.netns,
		Restart: runspec.RestartPolicy{Name: container.RestartNo},
	}
	spec.Options.ShmSize = r.opts.ShmSize
	spec.Options.Ulimits = r.opts.Ulimits
	spec.Options.Privileged = r.opts.Privileged
	etc, err := r.etcMounts(dir)
	if err != nil {
		return runspec.Spec{}, nil, err
	}
	spec.Mounts = append(spec.Mounts, etc...)
	for _, m := range job.mounts {
		cm, err := m.make(dir)
		if err != nil {
			return runspec.Spec{}, nil, fmt.Errorf("%s: --mount: %w", job.text, err)
		}
		spec.Mounts = append(spec.Mounts, cm)
	}
	return spec, etc, nil
}

// StepError is a RUN that exited non-zero.
type StepError struct {
	Step     string
	Command  []string
	ExitCode int
	Msg      string // why the process could not start, if it did not
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("failed to solve: step %s: process %q did not complete successfully: exit code: %d", e.Step, strings.Join(e.Command, " "), e.ExitCode)
	if e.Msg != "" {
		msg += ": " + e.Msg
	}
	return msg
}

func (e *StepError) Unwrap() error { return errdefs.ErrFailedPrecondition }

// runContainer starts the step container, streams its output as "#N line"
// and returns its exit code (with the reason when it could not start).
func (r *run) runContainer(ctx context.Context, spec runspec.Spec, n int) (int, string, error) {
	if err := r.b.Runtime.Start(ctx, spec); err != nil {
		var se *container.StartError
		if errors.As(err, &se) && se.ExitCode != 0 {
			return se.ExitCode, se.Msg, nil
		}
		return 0, "", err
	}
	bg := context.WithoutCancel(ctx)
	running := func() bool {
		st, err := container.ReadState(spec.Dir)
		return err == nil && st.Status == container.StatusRunning
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = logs.Read(bg, filepath.Join(spec.Dir, spec.ID+"-json.log"), logs.ReadOptions{Tail: -1, Follow: true, Done: func() bool { return !running() }},
			func(en logs.Entry) error {
				_, err := fmt.Fprintf(r.opts.Out, "#%d %s\n", n, en.Line)
				return err
			})
	}()
	st, err := r.b.Runtime.Wait(ctx, spec.Dir)
	if err != nil {
		_ = r.b.Runtime.Stop(bg, spec.Dir, 0)
		<-done
		return 0, "", err
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return st.ExitCode, "", nil
}

// heredocScript is what the shell runs for a RUN with heredocs: the
// heredoc itself when the line is only "<<EOF", else the line with its
// heredocs written back for the shell to read.
func heredocScript(c instructions.ShellDependantCmdLine) (string, error) {
	if !c.PrependShell {
		return "", fmt.Errorf("heredocs need the shell form of RUN: %w", errdefs.ErrInvalidArgument)
	}
	line := strings.TrimSpace(strings.Join(c.CmdLine, " "))
	if len(c.Files) == 1 && !strings.ContainsAny(strings.TrimLeft(line, "<-"), " \t") {
		return c.Files[0].Data, nil
	}
	var b strings.Builder
	b.WriteString(line)
	for _, f := range c.Files {
		b.WriteString("\n" + f.Data)
		if !strings.HasSuffix(f.Data, "\n") {
			b.WriteString("\n")
		}
		b.WriteString(f.Name)
	}
	return b.String(), nil
}

// proxyArgs are the build args Docker predefines.
var proxyArgs = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
