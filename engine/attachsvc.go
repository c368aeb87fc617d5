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
}

// Attach connects the terminal to a running container of the service
// through its supervisor until the container exits or ctx ends.
func (e *Engine) Attach(ctx context.Context, projectName string, opts AttachOptions) error {
	r, err := e.runningContainer(projectName, opts.Service, opts.Index)
	if err != nil {
		return err
	}
	return e.runtime.Attach(ctx, r.Dir, opts.Stdin, opts.Stdout, opts.Stderr, opts.Resize)
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
