package main

import (
	"context"
	"fmt"
	"os"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/engine/container"
)

// runHidden handles the re-exec entry points of the binary itself, before
// cobra is set up, so supervisors and the DNS server start lean.
func runHidden(ctx context.Context, args []string) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	var err error
	switch args[0] {
	case container.CreateArg: // __create CONTAINER_DIR (run by the container's supervisor)
		if len(args) != 2 {
			return 2, true
		}
		exe, _ := os.Executable()
		err = engine.CreateContainer(context.WithoutCancel(ctx), args[1], exe)
	case container.CleanupArg: // __cleanup CONTAINER_DIR (run by the container's supervisor)
		if len(args) != 2 {
			return 2, true
		}
		exe, _ := os.Executable()
		err = engine.CleanupContainer(context.WithoutCancel(ctx), args[1], exe)
	case container.ExecHealthArg: // __exec-health CONTAINER_DIR ARG... (a healthcheck probe)
		if len(args) < 3 {
			return 2, true
		}
		return container.ExecHealth(context.WithoutCancel(ctx), args[1], args[2:]), true
	case container.ExecArg: // __exec CONTAINER_DIR (the parent of a detached `exec -d`)
		if len(args) != 2 {
			return 2, true
		}
		err = engine.ExecDetached(context.WithoutCancel(ctx), args[1])
	case "__dns": // __dns STATE_DIR RUN_DIR
		if len(args) != 3 {
			return 2, true
		}
		err = engine.ServeDNS(ctx, args[1], args[2])
	default:
		return 0, false
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1, true
	}
	return 0, true
}
