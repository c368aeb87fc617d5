// Command compose is a Docker-Compose-compatible orchestrator with the
// container engine embedded. This package only parses flags and calls packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
)

func main() {
	// libcontainer's `init` re-exec must run before anything else.
	container.InitIfRequested()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if code, ok := runHidden(ctx, os.Args[1:]); ok {
		stop()
		os.Exit(code)
	}
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitCode maps errors to exit codes in one place.
func exitCode(err error) int {
	var exit *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	case errors.Is(err, engine.ErrInterrupted), errors.Is(err, context.Canceled):
		return 130
	}
	fmt.Fprintln(os.Stderr, errdefs.Message(err))
	return 1
}

// exitError carries an exit code decided by a command (e.g. a container's own).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
