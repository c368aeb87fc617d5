// Command compose is a Docker-Compose-compatible orchestrator with the
// container engine embedded. This package only parses flags and calls packages.
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

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
	keepDescriptorsToSelf()
	g := &globalOptions{}
	err := newRootCmdWith(g).ExecuteContext(ctx)
	g.closeEngines()
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

// keepDescriptorsToSelf marks every descriptor compose inherited beyond
// stdio close-on-exec: the supervisors and the DNS server it starts outlive
// it, and must not hold its caller's pipes open (a caller reading one would
// never see its end).
func keepDescriptorsToSelf() {
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	ents, err := os.ReadDir("/proc/self/fd") // kernels before 5.11
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
}
