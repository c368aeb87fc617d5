package container

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// ttyDrain bounds how long output is read after the process exited: a
// background child may hold the terminal open forever.
const ttyDrain = 2 * time.Second

// execIO wires an exec's stdio. The process always gets real files (the
// caller's own when they are files, else pipe ends), so libcontainer starts
// no copy goroutines of its own.
type execIO struct {
	es      ExecSpec
	closers []io.Closer // ours, closed at the end
	child   []io.Closer // the process's ends, closed once it started
	outputs sync.WaitGroup

	console *os.File // our end of the console socket (Tty)
	master  *os.File // the terminal's master (Tty)
	done    chan struct{}
}

func newExecIO(proc *libcontainer.Process, es ExecSpec) (*execIO, error) {
	x := &execIO{es: es, done: make(chan struct{})}
	if es.Tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		x.console = os.NewFile(uintptr(fds[0]), "console-parent")
		child := os.NewFile(uintptr(fds[1]), "console-child")
		x.closers = append(x.closers, x.console)
		x.child = append(x.child, child)
		proc.ConsoleSocket = child
		proc.ConsoleWidth, proc.ConsoleHeight = es.Size.Cols, es.Size.Rows
		return x, nil
	}
	var err error
	if proc.Stdin, err = x.input(es.Stdin); err != nil {
		x.close()
		return nil, err
	}
	if proc.Stdout, err = x.output(es.Stdout); err != nil {
		x.close()
		return nil, err
	}
	if proc.Stderr, err = x.output(es.Stderr); err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

// input returns the file the process reads: src itself, or a pipe fed from it.
func (x *execIO) input(src io.Reader) (io.Reader, error) {
	switch f := src.(type) {
	case nil:
		return nil, nil
	case *os.File:
		return f, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	x.child = append(x.child, r)
	x.closers = append(x.closers, w)
	go func() {
		_, _ = io.Copy(w, src)
		w.Close() // EOF for the process
	}()
	return r, nil
}

// output returns the file the process writes: dst itself, or a pipe drained into it.
func (x *execIO) output(dst io.Writer) (io.Writer, error) {
	switch f := dst.(type) {
	case nil:
		return nil, nil
	case *os.File:
		return f, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	x.child = append(x.child, w)
	x.closers = append(x.closers, r)
	x.outputs.Add(1)
	go func() {
		defer x.outputs.Done()
		_, _ = io.Copy(dst, r)
	}()
	return w, nil
}

// started runs once the process runs: it closes the process's ends and,
// with a tty, receives the terminal and starts copying.
func (x *execIO) started() error {
	for _, c := range x.child {
		c.Close()
	}
	x.child = nil
	if !x.es.Tty {
		return nil
	}
	master, err := receiveFile(x.console)
	if err != nil {
		return fmt.Errorf("exec: receive terminal: %w", err)
	}
	x.master = master
	x.closers = append(x.closers, master)
	if x.es.Stdout != nil {
		x.outputs.Add(1)
		go func() {
			defer x.outputs.Done()
			_, _ = io.Copy(x.es.Stdout, master) // ends with EIO once no process holds the terminal
		}()
	}
	if x.es.Stdin != nil {
		go func() { _, _ = io.Copy(master, x.es.Stdin) }()
	}
	if x.es.Resize != nil {
		go func() {
			for {
				select {
				case ws, ok := <-x.es.Resize:
					if !ok {
						return
					}
					_ = setWinsize(master, ws)
				case <-x.done:
					return
				}
			}
		}()
	}
	return nil
}

// finish waits until the output is drained (bounded with a tty).
func (x *execIO) finish() {
	drained := make(chan struct{})
	go func() {
		x.outputs.Wait()
		close(drained)
	}()
	if x.master == nil {
		<-drained
		return
	}
	select {
	case <-drained:
	case <-time.After(ttyDrain):
		_ = x.master.SetReadDeadline(time.Now())
		<-drained
	}
}

func (x *execIO) close() {
	select {
	case <-x.done:
		return
	default:
		close(x.done)
	}
	for _, c := range x.child {
		c.Close()
	}
	for _, c := range x.closers {
		c.Close()
	}
}

// receiveFile receives the one file descriptor libcontainer sends on the
// console socket (the terminal's master), made non-blocking so reads can
// be interrupted.
func receiveFile(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	var oobn int
	var err error
	for {
		_, oobn, _, _, err = unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("got %d file descriptors, want 1", len(fds))
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// setWinsize resizes the terminal behind f.
func setWinsize(f *os.File, ws WindowSize) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = conn.Control(func(fd uintptr) {
		serr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
	})
	if err != nil {
		return err
	}
	return serr
}
