package container

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// waitExit waits until the process pid (started at start, in clock ticks
// since boot) has exited, ctx ends or timeout passes (negative: no limit).
// It watches a pidfd, so it wakes the moment the process is gone, even when
// it is not our child. It reports whether the process is gone.
func waitExit(ctx context.Context, pid int, start uint64, timeout time.Duration) (bool, error) {
	if pid <= 0 {
		return true, nil
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	// Checked after opening: the pidfd then refers to this very process.
	if start != 0 && procStart(pid) != start {
		return true, nil
	}
	// A pipe that closes when ctx ends wakes the poll below.
	r, w, err := os.Pipe()
	if err != nil {
		return false, err
	}
	defer r.Close()
	stop := context.AfterFunc(ctx, func() { w.Close() })
	defer func() {
		if stop() {
			w.Close()
		}
	}()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(r.Fd()), Events: unix.POLLIN}}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		ms := -1
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return false, nil
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, err
		}
		if n > 0 && fds[0].Revents != 0 {
			return true, nil
		}
		if n > 0 && fds[1].Revents != 0 {
			return false, ctx.Err()
		}
	}
}

// signalPid sends sig to pid if it is still the process that started at
// start, through a pidfd (no pid reuse race). A process already gone is
// not an error.
func signalPid(pid int, start uint64, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if procStart(pid) != start {
		return nil
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}
