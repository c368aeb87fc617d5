package container

import (
	"context"
	"fmt"
	"io"

	"github.com/composer-dev/compose/errdefs"
)

// RestartPolicy is Docker's restart policy; the zero value is "no".
type RestartPolicy struct{}

// Healthcheck is a container's health test, run by the supervisor.
type Healthcheck struct{}

// LogOptions rotate the container's log file (json-file max-size/max-file).
type LogOptions struct{}

// Attach connects to a running container's stdio through its supervisor:
// what stdin yields goes to the container's stdin (Options.OpenStdin), its
// output goes to stdout/stderr (one raw stream when Options.Tty), and sizes
// sent on resize resize its terminal. It returns when the container exits,
// stdin ends (without OpenStdin) or ctx is done.
func (r *Runtime) Attach(ctx context.Context, dir string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan WindowSize) error {
	return fmt.Errorf("attach: %w", errdefs.ErrFailedPrecondition) // implemented with the supervisor's attach socket
}

// WindowSize is a terminal size in character cells.
type WindowSize struct{ Rows, Cols uint16 }
