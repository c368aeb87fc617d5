package networks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// The port holder does for published ports what Docker's userland proxy
// (docker-proxy) does: while a container's ports are published it holds
// their host sockets, so no other program can bind them (nftables DNAT
// alone would silently steal the traffic of a program listening there),
// and a port published on every address also listens on IPv6 ([::]) and
// relays to the container's IPv4 address, so `localhost` (::1) answers.
// It lives in the DNS server process, which outlives the `__create` that
// publishes; portctl.go is how containers ask it.

// udpIdleTimeout ends a UDP relay flow nobody used for this long
// (docker-proxy's UDPConnTrackTimeout).
const udpIdleTimeout = 90 * time.Second

// holdRequest is one container's published ports and where they go.
type holdRequest struct {
	ID     string        `json:"id"`
	Target string        `json:"target"` // the container's IPv4 address
	Ports  []PortMapping `json:"ports"`
}

type portHolder struct {
	dir  string // a file per held container, to hold them again after a restart
	mu   sync.Mutex
	held map[string][]io.Closer // by container id
}

func newPortHolder(runDir string) *portHolder {
	return &portHolder{dir: filepath.Join(runDir, "ports"), held: map[string][]io.Closer{}}
}

// hold binds every mapping of req (replacing what the container held) and
// remembers it on disk; a port another program holds is ErrConflict.
func (h *portHolder) hold(req holdRequest) error {
	target, err := netip.ParseAddr(req.Target)
	if err != nil || !target.Is4() {
		return fmt.Errorf("container address %q: %w", req.Target, errdefs.ErrInvalidArgument)
	}
	h.release(req.ID)
	var socks []io.Closer
	for _, p := range req.Ports {
		s, err := holdMapping(p, target)
		if err != nil {
			closeAll(socks)
			return err
		}
		socks = append(socks, s...)
	}
	data, err := json.Marshal(req)
	if err == nil {
		err = os.MkdirAll(h.dir, 0o700)
	}
	if err == nil {
		err = store.WriteFile(h.file(req.ID), data, 0o600)
	}
	if err != nil {
		closeAll(socks)
		return err
	}
	h.mu.Lock()
	h.held[req.ID] = socks
	h.mu.Unlock()
	return nil
}

// release closes the container's sockets and forgets them.
func (h *portHolder) release(id string) {
	h.mu.Lock()
	socks := h.held[id]
	delete(h.held, id)
	h.mu.Unlock()
	closeAll(socks)
	_ = os.Remove(h.file(id))
}

func (h *portHolder) file(id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return filepath.Join(h.dir, id+".json")
}

// restore holds again the ports of the containers that still publish them
// (a restarted server); the others' files are stale and removed.
func (h *portHolder) restore(published map[PortMapping]string) {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return
	}
	owners := map[string]bool{}
	for _, id := range published {
		owners[id] = true
	}
	for _, e := range entries {
		path := filepath.Join(h.dir, e.Name())
		var req holdRequest
		data, err := os.ReadFile(path)
		if err != nil || json.Unmarshal(data, &req) != nil || len(req.ID) < 12 || !owners[req.ID[:12]] {
			_ = os.Remove(path)
			continue
		}
		_ = h.hold(req)
	}
}

func (h *portHolder) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, socks := range h.held {
		closeAll(socks)
		delete(h.held, id)
	}
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// holdMapping binds the host side of p and relays what reaches it to the
// container; a mapping without a host address binds [::] too, where the
// host has IPv6.
func holdMapping(p PortMapping, target netip.Addr) ([]io.Closer, error) {
	to := net.JoinHostPort(target.String(), strconv.Itoa(int(p.ContainerPort)))
	v4 := net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort)))
	s, err := listenRelay(p.Protocol, "4", v4, to)
	if err != nil {
		return nil, bindError(p, err)
	}
	socks := []io.Closer{s}
	if p.HostIP != "" { // an address given, 0.0.0.0 included: IPv4 only, as with Docker
		return socks, nil
	}
	s6, err := listenRelay(p.Protocol, "6", net.JoinHostPort("::", strconv.Itoa(int(p.HostPort))), to)
	switch {
	case err == nil:
		socks = append(socks, s6)
	case errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EADDRNOTAVAIL):
		// no IPv6 on this host: IPv4 only
	default:
		closeAll(socks)
		return nil, bindError(p, err)
	}
	return socks, nil
}

func bindError(p PortMapping, err error) error {
	if errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("bind for %s failed: port is already allocated: %w", p.Key(), errdefs.ErrConflict)
	}
	return fmt.Errorf("bind for %s failed: %v: %w", p.Key(), err, errdefs.ErrFailedPrecondition)
}

// listenRelay listens on addr ("tcp" or "udp" over family "4" or "6") and
// relays to target until closed.
func listenRelay(proto, family, addr, target string) (io.Closer, error) {
	if proto == "udp" {
		c, err := net.ListenPacket("udp"+family, addr)
		if err != nil {
			return nil, err
		}
		go relayUDP(c, target)
		return c, nil
	}
	l, err := net.Listen("tcp"+family, addr)
	if err != nil {
		return nil, err
	}
	go relayTCP(l, target)
	return l, nil
}

// relayTCP accepts until l is closed, each connection relayed to target.
func relayTCP(l net.Listener, target string) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		go pipeTCP(c, target)
	}
}

func pipeTCP(c net.Conn, target string) {
	defer c.Close()
	t, err := net.DialTimeout("tcp4", target, 10*time.Second)
	if err != nil {
		return
	}
	defer t.Close()
	done := make(chan struct{})
	go func() {
		copyHalf(t, c)
		close(done)
	}()
	copyHalf(c, t)
	<-done
}

// copyHalf copies one direction and passes the end of the stream on.
func copyHalf(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// relayUDP relays datagrams between clients of c and target, one flow (a
// socket to target) per client address, until c is closed.
func relayUDP(c net.PacketConn, target string) {
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	defer func() {
		mu.Lock()
		for _, f := range flows {
			f.Close()
		}
		mu.Unlock()
	}()
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		mu.Lock()
		f, ok := flows[from.String()]
		if !ok {
			if f, err = net.Dial("udp4", target); err != nil {
				mu.Unlock()
				continue
			}
			flows[from.String()] = f
			go func() {
				udpReplies(f, c, from)
				mu.Lock()
				delete(flows, from.String())
				mu.Unlock()
				f.Close()
			}()
		}
		mu.Unlock()
		_ = f.SetReadDeadline(time.Now().Add(udpIdleTimeout))
		_, _ = f.Write(buf[:n])
	}
}

// udpReplies sends target's replies on flow f back to the client until the
// flow idles out or is closed.
func udpReplies(f net.Conn, c net.PacketConn, client net.Addr) {
	buf := make([]byte, 65535)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.WriteTo(buf[:n], client); errors.Is(err, net.ErrClosed) {
			return
		}
		_ = f.SetReadDeadline(time.Now().Add(udpIdleTimeout))
	}
}
