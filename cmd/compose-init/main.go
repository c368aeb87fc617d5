// Command compose-init is the minimal init that `init: true` runs as a
// container's PID 1 (bind-mounted at /sbin/docker-init, run as
// `docker-init -- COMMAND [ARG...]`): it starts the command, forwards the
// signals it gets to it, reaps every orphaned process, and exits with the
// command's status (128+N when a signal N killed it).
//
// It is built static (CGO_ENABLED=0) so that it runs in any image, and kept
// next to the compose binary, which finds it there.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-init -- COMMAND [ARG...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	// Orphans come to us even when we are not PID 1 (pid: host).
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs) // every signal: as PID 1, unhandled ones would be dropped

	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-init: %v\n", err)
		return notFoundCode(err)
	}
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{},
	}
	if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
		// On a terminal the command gets its own foreground process group,
		// so that ^C reaches it once (from the terminal), not twice.
		attr.Sys.Setpgid, attr.Sys.Foreground, attr.Sys.Ctty = true, true, 0
	}
	child, err := syscall.ForkExec(path, args, attr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-init: %s: %v\n", args[0], err)
		return notFoundCode(err)
	}
	for sig := range sigs {
		switch sig {
		case unix.SIGCHLD:
		case unix.SIGURG: // the Go runtime's own preemption signal
			continue
		default:
			_ = unix.Kill(child, sig.(syscall.Signal))
		}
		if code, done := reap(child); done {
			return code
		}
	}
	return 0
}

// reap collects every exited child; done reports whether the command was one.
func reap(child int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return code, done
		}
		if pid == child {
			done = true
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
	}
}

// notFoundCode is the shell's convention: 127 not found, 126 not executable.
func notFoundCode(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return 127
	}
	return 126
}
