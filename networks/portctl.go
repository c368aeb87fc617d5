package networks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// portCtlSocket, in RunDir, is where the DNS server process takes the port
// holder's requests: one JSON request and one JSON reply per connection.
const portCtlSocket = "ports.sock"

// portCtlTimeout bounds one request: binding a few sockets is quick.
const portCtlTimeout = 10 * time.Second

type portCtlRequest struct {
	Op   string      `json:"op"` // "hold" or "release"
	Hold holdRequest `json:"hold"`
}

type portCtlReply struct {
	Error    string `json:"error,omitempty"`
	Conflict bool   `json:"conflict,omitempty"` // the error is ErrConflict
}

// HoldPorts asks the DNS server of runDir to hold the host sockets of a
// container's published ports (see portholder.go) before they are
// published. A port another program holds is ErrConflict. Without a
// server that takes requests (one of an older version), nothing is held.
func HoldPorts(ctx context.Context, runDir, id string, target netip.Addr, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	return portCtl(ctx, runDir, portCtlRequest{Op: "hold", Hold: holdRequest{ID: id, Target: target.String(), Ports: ports}})
}

// ReleasePorts closes the sockets HoldPorts held for the container.
func ReleasePorts(ctx context.Context, runDir, id string) error {
	return portCtl(ctx, runDir, portCtlRequest{Op: "release", Hold: holdRequest{ID: id}})
}

func portCtl(ctx context.Context, runDir string, req portCtlRequest) error {
	ctx, cancel := context.WithTimeout(ctx, portCtlTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(runDir, portCtlSocket))
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
		return nil // no server takes requests: nothing is held
	}
	if err != nil {
		return fmt.Errorf("port holder: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fmt.Errorf("port holder: %w", err)
	}
	var rep portCtlReply
	if err := json.NewDecoder(c).Decode(&rep); err != nil {
		return fmt.Errorf("port holder: %w", err)
	}
	switch {
	case rep.Conflict:
		return errdefs.Mark(errdefs.ErrConflict, errors.New(rep.Error))
	case rep.Error != "":
		return errors.New(rep.Error)
	}
	return nil
}

// servePortCtl takes the port holder's requests on RunDir/ports.sock until
// the listener is closed.
func servePortCtl(runDir string, h *portHolder) (net.Listener, error) {
	path := filepath.Join(runDir, portCtlSocket)
	_ = os.Remove(path) // left by a server that died; we own runDir now
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			go handlePortCtl(c, h)
		}
	}()
	return l, nil
}

func handlePortCtl(c net.Conn, h *portHolder) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(portCtlTimeout))
	var req portCtlRequest
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		return
	}
	var rep portCtlReply
	switch req.Op {
	case "hold":
		if err := h.hold(req.Hold); err != nil {
			rep.Error, rep.Conflict = err.Error(), errors.Is(err, errdefs.ErrConflict)
		}
	case "release":
		h.release(req.Hold.ID)
	default:
		rep.Error = fmt.Sprintf("port holder: unknown request %q", req.Op)
	}
	_ = json.NewEncoder(c).Encode(rep)
}

// startPortHolder runs the port holder in this (DNS server) process: it
// holds again what containers still publish, then takes requests. The
// returned func closes every held socket.
func startPortHolder(runDir string) func() {
	h := newPortHolder(runDir)
	if pub, err := PublishedPorts(); err == nil {
		h.restore(pub)
	}
	l, err := servePortCtl(runDir, h)
	if err != nil {
		return h.closeAll // no requests: containers publish without held sockets
	}
	return func() {
		l.Close()
		h.closeAll()
		_ = os.Remove(h.dir) // when empty: nothing is published any more
	}
}
