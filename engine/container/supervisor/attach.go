package supervisor

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Frames on the attach socket: a kind byte, a big-endian uint32 length,
// then the payload.
const (
	FrameStdin      byte = 'i' // client → container stdin
	FrameCloseStdin byte = 'c' // client: no more stdin
	FrameResize     byte = 'r' // client: rows, cols (two big-endian uint16)
	FrameStdout     byte = 'o' // container stdout (or the tty) → client
	FrameStderr     byte = 'e' // container stderr → client
)

// maxFrame bounds a frame's payload so a bad peer cannot make us allocate much.
const maxFrame = 1 << 20

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, kind byte, p []byte) error {
	buf := make([]byte, 5+len(p))
	buf[0] = kind
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(p)))
	copy(buf[5:], p)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, errors.New("attach frame of " + strconv.FormatUint(uint64(n), 10) + " bytes is too large")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	return hdr[0], p, nil
}

// ResizePayload encodes a window size for FrameResize.
func ResizePayload(rows, cols uint16) []byte {
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:], rows)
	binary.BigEndian.PutUint16(b[2:], cols)
	return b[:]
}

// AttachSocket is where the supervisor of container id serves attach.
func AttachSocket(runDir, id string) string {
	return filepath.Join(runDir, "attach", id+".sock")
}

// Dial connects to an attach socket. The connection is a non-blocking
// socket, so reads, writes and deadlines go through Go's poller. Socket
// paths are limited to 108 bytes, so it goes through the directory's
// /proc/self/fd entry (as conmon does).
func Dial(path string) (*os.File, error) {
	var conn *os.File
	err := viaDirFD(path, func(short string) error {
		// Blocking while it connects: a full backlog makes it wait.
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: short}); err != nil {
			unix.Close(fd)
			return err
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return err
		}
		conn = os.NewFile(uintptr(fd), "attach")
		return nil
	})
	if err != nil {
		return nil, errors.New("attach: " + err.Error())
	}
	return conn, nil
}

func viaDirFD(path string, fn func(short string) error) error {
	d, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn("/proc/self/fd/" + strconv.Itoa(int(d.Fd())) + "/" + filepath.Base(path))
}

// attachServer serves the attach socket: what clients send goes to the
// container's stdin (or terminal), its output goes to every client.
// Sockets are non-blocking os.Files in Go's poller: the net package would
// make every supervisor larger.
type attachServer struct {
	ln *os.File

	mu      sync.Mutex
	clients map[*os.File]bool
	stdin   io.WriteCloser // nil when the container takes no input
	tty     *os.File       // the terminal's master, for resizes
}

func listenAttach(path string) (*attachServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	_ = os.Remove(path)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, errors.New("attach socket: " + err.Error())
	}
	err = viaDirFD(path, func(short string) error {
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: short}); err != nil {
			return err
		}
		return unix.Listen(fd, 16)
	})
	if err != nil {
		unix.Close(fd)
		return nil, errors.New("attach socket: " + err.Error())
	}
	s := &attachServer{ln: os.NewFile(uintptr(fd), "attach"), clients: map[*os.File]bool{}}
	go s.serve()
	return s, nil
}

// accept waits for the next client.
func (s *attachServer) accept() (*os.File, error) {
	rc, err := s.ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var aerr error
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	return os.NewFile(uintptr(nfd), "attach client"), nil
}

func (s *attachServer) serve() {
	for {
		c, err := s.accept()
		if err == unix.ECONNABORTED || err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		s.mu.Lock()
		s.clients[c] = true
		s.mu.Unlock()
		go s.read(c)
	}
}

// read handles one client's frames until it goes away.
func (s *attachServer) read(c *os.File) {
	defer s.drop(c)
	for {
		kind, p, err := ReadFrame(c)
		if err != nil {
			return
		}
		s.mu.Lock()
		stdin, tty := s.stdin, s.tty
		s.mu.Unlock()
		switch kind {
		case FrameStdin:
			if stdin != nil {
				_, _ = stdin.Write(p)
			}
		case FrameCloseStdin:
			if stdin != nil && tty == nil {
				_ = stdin.Close()
			}
		case FrameResize:
			if tty != nil && len(p) == 4 {
				ws := &unix.Winsize{Row: binary.BigEndian.Uint16(p[0:]), Col: binary.BigEndian.Uint16(p[2:])}
				_ = unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
	}
}

func (s *attachServer) drop(c *os.File) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	c.Close()
}

// setIO points the server at a new run of the container.
func (s *attachServer) setIO(stdin io.WriteCloser, tty *os.File) {
	s.mu.Lock()
	s.stdin, s.tty = stdin, tty
	s.mu.Unlock()
}

// broadcast sends output to every client; one that does not keep up
// within a few seconds is dropped rather than stalling the container.
func (s *attachServer) broadcast(kind byte, p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := WriteFrame(c, kind, p); err != nil {
			delete(s.clients, c)
			c.Close()
		}
	}
}

// endRun disconnects every client: the container exited.
func (s *attachServer) endRun() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		c.Close()
		delete(s.clients, c)
	}
	s.stdin, s.tty = nil, nil
}

func (s *attachServer) close(path string) {
	s.ln.Close()
	s.endRun()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
}
