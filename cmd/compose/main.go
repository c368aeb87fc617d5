// Command compose is a Docker-Compose-compatible orchestrator with the
// container engine embedded. This package only parses flags and calls packages.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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

// exitCode maps a command's error to the process's exit code
// (errdefs.ExitCode decides), printing its one-line message.
func exitCode(err error) int {
	code, silent := errdefs.ExitCode(err)
	if !silent {
		fmt.Fprintln(os.Stderr, errdefs.Message(err))
	}
	return code
}
