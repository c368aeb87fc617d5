package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/errdefs"
)

// RestartPolicy is Docker's restart policy; the zero value is "no".
type RestartPolicy = supervisor.RestartPolicy

// Healthcheck is a container's health test, run by the supervisor.
type Healthcheck = supervisor.Healthcheck

// LogOptions choose the log driver and rotate the container's log file
// (json-file max-size/max-file).
type LogOptions = supervisor.LogOptions

// The restart policy names and log drivers.
const (
	RestartNo            = supervisor.RestartNo
	RestartAlways        = supervisor.RestartAlways
	RestartOnFailure     = supervisor.RestartOnFailure
	RestartUnlessStopped = supervisor.RestartUnlessStopped
	LogJSONFile          = supervisor.LogJSONFile
	LogNone              = supervisor.LogNone
)

// Attach connects to a container's stdio through its supervisor: what
// stdin yields goes to the container's stdin (Options.OpenStdin; when stdin
// ends the container's stdin is closed, unless it is a terminal), its
// output goes to stdout/stderr (one raw stream when Options.Tty), and sizes
// sent on resize resize its terminal. It returns when the container exits
// or ctx is done. It waits for the supervisor's socket, so it may be called
// while Start runs to see the container's output from the first byte.
func (r *Runtime) Attach(ctx context.Context, dir string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan WindowSize) error {
	spec, conn, err := r.dialAttach(ctx, dir)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var wmu sync.Mutex // frames from the stdin and resize goroutines must not interleave
	send := func(kind byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return supervisor.WriteFrame(conn, kind, p)
	}
	if resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ws, ok := <-resize:
					if !ok {
						return
					}
					if send(supervisor.FrameResize, supervisor.ResizePayload(ws.Rows, ws.Cols)) != nil {
						return
					}
				}
			}
		}()
	}
	if stdin != nil && spec.Options.OpenStdin {
		go func() {
			buf := make([]byte, 32*1024)
			for {
				n, err := stdin.Read(buf)
				if n > 0 && send(supervisor.FrameStdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					_ = send(supervisor.FrameCloseStdin, nil)
					return
				}
			}
		}()
	}
	for {
		kind, p, err := supervisor.ReadFrame(conn)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil // the container exited
		}
		var w io.Writer
		switch kind {
		case supervisor.FrameStdout:
			w = stdout
		case supervisor.FrameStderr:
			w = stderr
		}
		if w != nil {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
	}
}

// dialAttach connects to the supervisor's attach socket, waiting for the
// spec and the socket to appear while the container is being started.
func (r *Runtime) dialAttach(ctx context.Context, dir string) (Spec, *os.File, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		spec, err := ReadSpec(dir)
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return spec, nil, err
		}
		if err == nil {
			conn, err := supervisor.Dial(supervisor.AttachSocket(r.RunDir, spec.ID))
			if err == nil {
				return spec, conn, nil
			}
			st, serr := ReadState(dir)
			if serr != nil && !errors.Is(serr, errdefs.ErrNotFound) {
				return spec, nil, serr
			}
			if serr == nil && !live(st) {
				return spec, nil, fmt.Errorf("container %s is not running: %w", spec.DisplayName(), errdefs.ErrFailedPrecondition)
			}
		}
		select {
		case <-ctx.Done():
			return spec, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// WindowSize is a terminal size in character cells.
type WindowSize struct{ Rows, Cols uint16 }
