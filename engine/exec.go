package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
)

// ExecOptions are the flags of `compose exec`.
type ExecOptions struct {
	Service    string
	Index      int // --index: the service's container number, 1 by default
	Args       []string
	Detach     bool
	User       string
	Workdir    string
	Env        []string // KEY=VALUE, or KEY to take it from this environment
	Privileged bool
	Tty        bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Size           container.WindowSize
	Resize         <-chan container.WindowSize
}

// Exec runs a command in a running container of the service and returns
// its exit code.
func (e *Engine) Exec(ctx context.Context, projectName string, opts ExecOptions) (int, error) {
	if len(opts.Args) == 0 {
		return 0, fmt.Errorf("exec: no command specified: %w", errdefs.ErrInvalidArgument)
	}
	r, err := e.runningContainer(projectName, opts.Service, opts.Index)
	if err != nil {
		return 0, err
	}
	return e.runtime.Exec(ctx, r.Dir, container.ExecSpec{
		Args: opts.Args, Env: resolveEnv(opts.Env), Cwd: opts.Workdir, User: opts.User,
		Privileged: opts.Privileged, Tty: opts.Tty, Detach: opts.Detach,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
		Size: opts.Size, Resize: opts.Resize,
	})
}

// resolveEnv turns `-e KEY` into KEY=VALUE from this environment, as
// Compose does; a KEY that is not set is left out.
func resolveEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
			continue
		}
		if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	return out
}

// ExecDetached is the body of the helper process behind `exec -d`
// (`compose __exec DIR`).
func ExecDetached(ctx context.Context, dir string) error {
	return container.ExecDetachedMain(ctx, dir)
}
