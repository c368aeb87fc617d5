package engine

import (
	"context"
	"io"

	"github.com/composer-dev/compose/engine/container"
)

// AttachOptions are the flags of `compose attach`.
type AttachOptions struct {
	Service        string
	Index          int
	Stdin          io.Reader // nil = --no-stdin
	Stdout, Stderr io.Writer
	Resize         <-chan container.WindowSize
	// DetachKeys (--detach-keys; DefaultDetachKeys when empty), typed on
	// stdin, end the attach and leave the container running.
	DetachKeys string
}

// Attach connects the terminal to a running container of the service
// through its supervisor until the container exits or ctx ends.
func (e *Engine) Attach(ctx context.Context, projectName string, opts AttachOptions) error {
	keys := opts.DetachKeys
	if keys == "" {
		keys = DefaultDetachKeys
	}
	seq, err := ParseDetachKeys(keys)
	if err != nil {
		return err
	}
	r, err := e.runningContainer(projectName, opts.Service, opts.Index)
	if err != nil {
		return err
	}
	actx, detach := context.WithCancel(ctx)
	defer detach()
	stdin := opts.Stdin
	if stdin != nil {
		stdin = &detachReader{r: stdin, seq: seq, detach: detach}
	}
	err = e.runtime.Attach(actx, r.Dir, stdin, opts.Stdout, opts.Stderr, opts.Resize)
	if actx.Err() != nil && ctx.Err() == nil { // detached: the container goes on
		return nil
	}
	return err
}

// KillContainer sends sig to the service's container number index (the
// signal proxy of an attached client).
func (e *Engine) KillContainer(ctx context.Context, projectName, service string, index int, sig string) error {
	r, err := e.runningContainer(projectName, service, index)
	if err != nil {
		return err
	}
	s, err := parseSignal(sig)
	if err != nil {
		return err
	}
	return e.runtime.Kill(ctx, r.Dir, s)
}
