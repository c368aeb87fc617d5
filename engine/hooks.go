package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// Lifecycle hooks as Docker Compose runs them (pkg/compose/hook.go,
// pre_start.go): post_start and pre_stop are commands exec'd in the
// service's running container, pre_start a container of its own run to
// completion before the service's first container starts. A hook that
// exits non-zero fails the command, with the end of what it printed. What
// hooks print is shown only by an attached `up`, among the logs, under
// "web-1 ->" (or "web pre_start[0] ->"), as Docker's log view shows it.

// hookState is what the hooks of the running command need: the project
// whose services declare them and, for an attached `up`, their output.
type hookState struct {
	mu      sync.Mutex
	project *types.Project
	capture bool // an attached up: output is kept for the log view
	lines   []hookLine
}

// hookLine is one line a hook printed, under the name Docker shows it with.
type hookLine struct{ source, line string }

// useHooksOf makes the services of p run their hooks in what follows; a
// command without compose files (p nil) runs none, as Docker Compose's
// project rebuilt from container labels has none.
func (e *Engine) useHooksOf(p *types.Project) {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.project = p
}

// captureHookOutput keeps what hooks print for the attached log view.
func (e *Engine) captureHookOutput() {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.capture = true
}

// takeHookLines hands over the lines hooks printed so far.
func (e *Engine) takeHookLines() []hookLine {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	lines := e.hooks.lines
	e.hooks.lines = nil
	return lines
}

// hookService is the service of r when the command's project declares it.
func (e *Engine) hookService(r *record.Record) (types.ServiceConfig, bool) {
	e.hooks.mu.Lock()
	p := e.hooks.project
	e.hooks.mu.Unlock()
	if p == nil || e.dryRun {
		return types.ServiceConfig{}, false
	}
	svc, ok := p.Services[r.Service]
	return svc, ok
}

// hookOutput is where a hook's stdout and stderr go: the end of each is
// kept for the error message, and the lines are kept for the log view
// when `up` is attached.
type hookOutput struct {
	stdout, stderr *outputTail
	out, errOut    *lineFunc // split into lines for the tails
	live           *lineFunc // nil when nothing is shown
}

func (e *Engine) newHookOutput(source string) *hookOutput {
	o := &hookOutput{stdout: &outputTail{}, stderr: &outputTail{}}
	o.out, o.errOut = &lineFunc{fn: o.stdout.add}, &lineFunc{fn: o.stderr.add}
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	if e.hooks.capture {
		o.live = &lineFunc{fn: func(line string) {
			e.hooks.mu.Lock()
			defer e.hooks.mu.Unlock()
			e.hooks.lines = append(e.hooks.lines, hookLine{source, line})
		}}
	}
	return o
}

// writers are the hook's stdout and stderr; both are shown alike, as
// Docker Compose's log view does.
func (o *hookOutput) writers() (io.Writer, io.Writer) {
	if o.live == nil {
		return o.out, o.errOut
	}
	return io.MultiWriter(o.live, o.out), io.MultiWriter(o.live, o.errOut)
}

// flush passes on last lines without a newline.
func (o *hookOutput) flush() {
	o.out.flush()
	o.errOut.flush()
	if o.live != nil {
		o.live.flush()
	}
}

// tail is what the hook printed last, stderr first: it usually says why.
func (o *hookOutput) tail() string {
	if s := o.stderr.String(); s != "" {
		return s
	}
	return o.stdout.String()
}

// postStart runs the service's post_start hooks in r, once it runs.
func (e *Engine) postStart(ctx context.Context, r *record.Record) error {
	svc, ok := e.hookService(r)
	if !ok {
		return nil
	}
	for _, hook := range svc.PostStart {
		if _, err := e.execHook(ctx, r, svc, hook); err != nil {
			return err
		}
	}
	return nil
}

// preStop runs the service's pre_stop hooks in r while it still runs.
// A hook that cannot be exec'd (the container stopped meanwhile) is
// skipped: Docker Compose ignores the daemon's "not running" there.
func (e *Engine) preStop(ctx context.Context, r *record.Record) error {
	svc, ok := e.hookService(r)
	if !ok || len(svc.PreStop) == 0 || !isRunning(r) {
		return nil
	}
	for _, hook := range svc.PreStop {
		ran, err := e.execHook(ctx, r, svc, hook)
		if !ran {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// execHook execs one post_start or pre_stop hook in r with the hook's
// user, privileges, working directory and environment; ran is false when
// it could not be exec'd at all.
func (e *Engine) execHook(ctx context.Context, r *record.Record, svc types.ServiceConfig, hook types.ServiceHook) (ran bool, err error) {
	out := e.newHookOutput(r.DisplayName() + " ->")
	stdout, stderr := out.writers()
	code, err := e.runtime.Exec(ctx, r.Dir, container.ExecSpec{
		Args: hook.Command, Env: hookEnv(hook.Environment), Cwd: hook.WorkingDir, User: hook.User,
		Privileged: hook.Privileged, Tty: svc.Tty, Stdout: stdout, Stderr: stderr,
	})
	out.flush()
	if err != nil {
		return false, fmt.Errorf("container %s: %s hook: %w", r.Name, svc.Name, err)
	}
	if code != 0 {
		return true, hookFailed(fmt.Sprintf("%s hook exited with status %d", svc.Name, code), out.tail())
	}
	return true, nil
}

// hookFailed is Docker Compose's error for a failed hook: its message,
// then what the hook printed last.
func hookFailed(msg, tail string) error {
	if tail != "" {
		msg += ": " + tail
	}
	return errdefs.Mark(errdefs.ErrFailedPrecondition, errors.New(msg))
}

// hookEnv is the hook's environment as NAME=VALUE, sorted; a name without
// a value adds nothing.
func hookEnv(env types.MappingWithEquals) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v != nil {
			out = append(out, k+"="+*v)
		}
	}
	slices.Sort(out)
	return out
}

// Docker Compose keeps the last 10 lines, at most 2 KiB, of a hook's
// output for its error message.
const (
	tailLines = 10
	tailBytes = 2048
)

// outputTail keeps the last non-blank lines written to it. A line redrawn
// with carriage returns (a progress bar) counts as what it shows last.
type outputTail struct {
	mu    sync.Mutex
	lines []string
}

func (t *outputTail) add(line string) {
	line = strings.TrimRight(line, "\r")
	if i := strings.LastIndexByte(line, '\r'); i >= 0 {
		line = line[i+1:]
	}
	if strings.TrimSpace(line) == "" {
		return
	}
	if len(line) > tailBytes {
		line = line[:tailBytes]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, strings.ToValidUTF8(line, ""))
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

// String is the kept lines, oldest first, cut to the last tailBytes.
func (t *outputTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.Join(t.lines, "\n"))
	if len(s) > tailBytes {
		s = strings.ToValidUTF8(s[len(s)-tailBytes:], "")
	}
	return s
}
