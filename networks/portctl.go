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
// holder's requests, and EnsureDNS's reloads: one JSON request and one
// JSON reply per connection.
const portCtlSocket = "ports.sock"

// portCtlTimeout bounds one request: binding a few sockets is quick.
const portCtlTimeout = 10 * time.Second

type portCtlRequest struct {
	Op   string      `json:"op"` // "hold", "release" or "reload" (the DNS listeners)
	Hold holdRequest `json:"hold"`
}

type portCtlReply struct {
	Error    string `json:"error,omitempty"`
	Conflict bool   `json:"conflict,omitempty"` // the error is ErrConflict
	// Reloaded (op reload) says the server knows the request (one of an
	// older version does not); Listeners tells, by network name, how
	// listening on its gateway went.
	Reloaded  bool                    `json:"reloaded,omitempty"`
	Listeners map[string]listenStatus `json:"listeners,omitempty"`
}

// listenStatus is the outcome of the DNS server's listening on one
// network's gateway: no Error means it answers there.
type listenStatus struct {
	Error    string `json:"error,omitempty"`
	Conflict bool   `json:"conflict,omitempty"` // another socket holds the address
}

// errNoCtl: no server takes requests on RunDir's socket (none runs, or one
// of an older version).
var errNoCtl = errors.New("no control socket")

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
	rep, err := ctlRequest(ctx, runDir, req)
	if errors.Is(err, errNoCtl) {
		return nil // no server takes requests: nothing is held
	}
	if err != nil {
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

// ctlRequest sends req to the DNS server process of runDir and returns its
// reply; errNoCtl when no server takes requests there.
func ctlRequest(ctx context.Context, runDir string, req portCtlRequest) (portCtlReply, error) {
	ctx, cancel := context.WithTimeout(ctx, portCtlTimeout)
	defer cancel()
	var d net.Dialer
	var rep portCtlReply
	c, err := d.DialContext(ctx, "unix", filepath.Join(runDir, portCtlSocket))
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
		return rep, errNoCtl
	}
	if err != nil {
		return rep, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return rep, err
	}
	err = json.NewDecoder(c).Decode(&rep)
	return rep, err
}

// reloadDNS has the DNS server of runDir look at the records now and tells
// how listening on each network's gateway went.
func reloadDNS(ctx context.Context, runDir string) (map[string]listenStatus, error) {
	rep, err := ctlRequest(ctx, runDir, portCtlRequest{Op: "reload"})
	switch {
	case err != nil:
		return nil, err
	case !rep.Reloaded: // a server of an older version: an unknown request
		return nil, errNoCtl
	case rep.Error != "":
		return nil, errors.New(rep.Error)
	}
	return rep.Listeners, nil
}

// servePortCtl takes the port holder's requests (and reloads, given to
// reload) on RunDir/ports.sock until the listener is closed.
func servePortCtl(runDir string, h *portHolder, reload func() (map[string]listenStatus, error)) (net.Listener, error) {
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
			go handlePortCtl(c, h, reload)
		}
	}()
	return l, nil
}

func handlePortCtl(c net.Conn, h *portHolder, reload func() (map[string]listenStatus, error)) {
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
	case "reload":
		var err error
		if rep.Listeners, err = reload(); err != nil {
			rep.Error = err.Error()
		}
		rep.Reloaded = true // known, even when it failed
	default:
		rep.Error = fmt.Sprintf("port holder: unknown request %q", req.Op)
	}
	_ = json.NewEncoder(c).Encode(rep)
}

// startPortHolder runs the port holder in this (DNS server) process: it
// holds again what containers still publish, then takes requests (reloads
// go to reload). The returned func closes every held socket.
func startPortHolder(runDir string, reload func() (map[string]listenStatus, error)) func() {
	h := newPortHolder(runDir)
	if pub, err := PublishedPorts(); err == nil {
		h.restore(pub)
	}
	l, err := servePortCtl(runDir, h, reload)
	if err != nil {
		return h.closeAll // no requests: containers publish without held sockets
	}
	return func() {
		l.Close()
		h.closeAll()
		_ = os.Remove(h.dir) // when empty: nothing is published any more
	}
}
