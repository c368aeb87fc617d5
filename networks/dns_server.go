package networks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/store"
)

// Files in RunDir shared by EnsureDNS and the server.
const (
	dnsPidFile   = "dns.pid"  // pid; flocked by the live server for its whole life
	dnsSpawnLock = "dns.lock" // serialises starting (EnsureDNS) against exiting (server)
)

// dnsRescan is how often the server looks for added or removed networks
// without a SIGHUP (another tool may have edited the state).
const dnsRescan = time.Second

// ServeDNS is the body of the DNS server process (`compose __dns <StateDir>
// <RunDir>`). It serves every network in stateDir on its gateway:53 (UDP and
// TCP), writes a byte to ready and closes it once listening, reloads on
// SIGHUP and every second, and returns when no network remains, on SIGTERM
// or when ctx ends. A second server for the same runDir returns nil at once.
// EnsureDNS passes the ready pipe as fd 3 (see ServeDNSMain).
func ServeDNS(ctx context.Context, stateDir, runDir string, ready *os.File) error {
	if ready != nil {
		defer ready.Close()
	}
	// Held while we run: the runtime dir is not removed under us (the
	// engine removes it once nothing uses it).
	hold, err := store.ShareDir(ctx, runDir)
	if err != nil {
		return err
	}
	defer hold.Unlock()
	pidf, err := os.OpenFile(filepath.Join(runDir, dnsPidFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer pidf.Close()
	if err := unix.Flock(int(pidf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil // another server owns this runDir
		}
		return fmt.Errorf("lock dns pidfile: %w", err)
	}
	// Catch SIGHUP before the pid is published: its default action kills.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	if err := pidf.Truncate(0); err != nil {
		return err
	}
	if _, err := pidf.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}

	s := &dnsServer{stateDir: stateDir, runDir: runDir, nets: map[string]*netListener{},
		failed: map[string]error{}, reloads: make(chan chan map[string]listenStatus)}
	defer s.stopAll()
	stopPorts := startPortHolder(runDir, s.requestReload)
	defer stopPorts()

	if s.reload() == 0 && s.tryExit(pidf) {
		return nil
	}
	if ready != nil {
		_, _ = ready.Write([]byte{1})
	}
	tick := time.NewTicker(dnsRescan)
	defer tick.Stop()
	for {
		var reply chan map[string]listenStatus
		select {
		case <-ctx.Done():
			os.Remove(pidf.Name())
			return nil
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				os.Remove(pidf.Name())
				return nil
			}
		case reply = <-s.reloads:
		case <-tick.C:
		}
		n := s.reload()
		if reply != nil {
			reply <- s.status()
		}
		if n == 0 && s.tryExit(pidf) {
			return nil
		}
	}
}

// requestReload has the main loop reload now and returns how listening
// went for each network (EnsureDNS asks, over the control socket).
func (s *dnsServer) requestReload() (map[string]listenStatus, error) {
	reply := make(chan map[string]listenStatus, 1)
	t := time.NewTimer(portCtlTimeout / 2)
	defer t.Stop()
	select {
	case s.reloads <- reply:
	case <-t.C:
		return nil, errors.New("dns server: reload: busy")
	}
	return <-reply, nil
}

// status reports the listeners: only the main loop calls it.
func (s *dnsServer) status() map[string]listenStatus {
	out := make(map[string]listenStatus, len(s.nets)+len(s.failed))
	for name := range s.nets {
		out[name] = listenStatus{}
	}
	for name, err := range s.failed {
		out[name] = listenStatus{Error: err.Error(), Conflict: errors.Is(err, unix.EADDRINUSE)}
	}
	return out
}

// ServeDNSMain is ServeDNS for the `__dns` entry point: it takes the ready
// pipe from fd 3, where EnsureDNS puts it.
func ServeDNSMain(ctx context.Context, stateDir, runDir string) error {
	return ServeDNS(ctx, stateDir, runDir, os.NewFile(3, "ready"))
}

type dnsServer struct {
	stateDir, runDir string
	upstreams        atomic.Pointer[[]string]
	nets             map[string]*netListener // by network name; only the main loop touches it
	failed           map[string]error        // networks it could not listen for, and why; as nets
	reloads          chan chan map[string]listenStatus
	// listeners is a snapshot of nets for the query handlers, which look
	// up the other networks of the asking container.
	listeners atomic.Pointer[[]*netListener]
}

// netListener serves one network: it listens on the gateway for queries
// that come in through the network's bridge (its sockets are bound to it),
// answers only the network's containers, and only from the records of the
// networks the asking container is attached to.
type netListener struct {
	srv      *dnsServer
	path     string // the network's record file
	gateway  string
	bridge   string
	ifindex  int // of the bridge its sockets are bound to
	udp, tcp *dns.Server

	mu    sync.Mutex // serialises record reloads
	stamp fileStamp
	recs  atomic.Pointer[recordSet]
	rr    atomic.Uint32
}

type fileStamp struct {
	ino, size    uint64
	mtime, ctime int64
}

func stampOf(path string) (fileStamp, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileStamp{}, err
	}
	return fileStamp{ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, nil
}

// reload syncs listeners with the records on disk and returns how many
// networks exist. Existing listeners are kept, so queries in flight finish.
func (s *dnsServer) reload() int {
	recs, err := listRecords(s.stateDir)
	if err != nil {
		return len(s.nets) // keep serving what we have
	}
	s.loadUpstreams()
	want := map[string]*Network{}
	for i := range recs {
		want[recs[i].Name] = &recs[i]
	}
	for name, l := range s.nets {
		// A listener whose bridge went (a crash, a reboot) or was made
		// anew (a repair) is stale: its sockets are bound to a device
		// that is no more. It listens again on the bridge there is now.
		if n, ok := want[name]; !ok || n.Gateway != l.gateway || n.Bridge != l.bridge || bridgeIndex(n.Bridge) != l.ifindex {
			l.stop()
			delete(s.nets, name)
		}
	}
	for name := range s.failed {
		if _, ok := want[name]; !ok {
			delete(s.failed, name)
		}
	}
	for name, n := range want {
		if _, ok := s.nets[name]; ok {
			continue
		}
		l, err := s.listen(n)
		if err != nil {
			// Reported to EnsureDNS, and tried again on the next rescan.
			s.failed[name] = err
			continue
		}
		delete(s.failed, name)
		s.nets[name] = l
	}
	all := make([]*netListener, 0, len(s.nets))
	for _, l := range s.nets {
		all = append(all, l)
	}
	s.listeners.Store(&all)
	return len(recs)
}

// tryExit stops the server when no network is left, unless an EnsureDNS
// holds the spawn lock (it is about to rely on us): then we stay.
func (s *dnsServer) tryExit(pidf *os.File) bool {
	f, err := os.OpenFile(filepath.Join(s.runDir, dnsSpawnLock), os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrNotExist) { // the runtime dir itself is gone: nobody can need us
		recs, lerr := listRecords(s.stateDir)
		return lerr == nil && len(recs) == 0
	}
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false
	}
	if recs, err := listRecords(s.stateDir); err != nil || len(recs) > 0 {
		return false
	}
	os.Remove(pidf.Name())
	return true
}

// UpstreamConfEnv names a resolv.conf whose nameservers the DNS server
// forwards to instead of the host's /etc/resolv.conf (tests, or a host whose
// resolver listens on a loopback address containers could not reach).
const UpstreamConfEnv = "COMPOSE_DNS_UPSTREAM_CONF"

func (s *dnsServer) loadUpstreams() {
	var ups []string
	conf := os.Getenv(UpstreamConfEnv)
	if conf == "" {
		conf = "/etc/resolv.conf"
	}
	if cfg, err := dns.ClientConfigFromFile(conf); err == nil {
		for _, srv := range cfg.Servers {
			ups = append(ups, net.JoinHostPort(srv, cfg.Port))
		}
	}
	s.upstreams.Store(&ups)
}

// bridgeIndex is the interface index of the bridge called name, 0 when
// there is none.
func bridgeIndex(name string) int {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return 0
	}
	return link.Attrs().Index
}

// listen binds the network's gateway:53 (UDP and TCP) on its bridge: the
// sockets take only what comes in through that bridge (and what the host
// itself sends), never a query routed in from another network, and do not
// clash with a listener of another DNS server bound to another bridge.
func (s *dnsServer) listen(n *Network) (*netListener, error) {
	index := bridgeIndex(n.Bridge)
	if index == 0 {
		return nil, fmt.Errorf("listen on %s:53: bridge %s is missing", n.Gateway, n.Bridge)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX, index)
			if errors.Is(err, unix.ENOPROTOOPT) { // before Linux 5.0
				err = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, n.Bridge)
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	ctx := context.Background()
	addr := net.JoinHostPort(n.Gateway, "53")
	pc, err := lc.ListenPacket(ctx, "udp4", addr)
	if err != nil {
		return nil, err
	}
	ln, err := lc.Listen(ctx, "tcp4", addr)
	if err != nil {
		pc.Close()
		return nil, err
	}
	l := &netListener{srv: s, path: recordPath(s.stateDir, n.Name), gateway: n.Gateway, bridge: n.Bridge, ifindex: index}
	l.recs.Store(buildRecords(nil))
	l.refresh()
	l.udp = &dns.Server{PacketConn: pc, Handler: l}
	l.tcp = &dns.Server{Listener: ln, Handler: l}
	// The sockets are bound already: queries queue in the kernel until
	// the serve loops start, so the listener is ready when this returns.
	go l.udp.ActivateAndServe()
	go l.tcp.ActivateAndServe()
	return l, nil
}

func (l *netListener) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = l.udp.ShutdownContext(ctx)
	_ = l.tcp.ShutdownContext(ctx)
}

func (s *dnsServer) stopAll() {
	for name, l := range s.nets {
		l.stop()
		delete(s.nets, name)
	}
}

// refresh re-reads the record file when it changed; a stat per query is
// cheap and makes a just-connected container resolvable immediately.
func (l *netListener) refresh() *recordSet {
	st, err := stampOf(l.path)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.stamp = fileStamp{}
		l.recs.Store(buildRecords(nil))
	case err != nil || st == l.stamp:
	default:
		if n, err := readRecord(l.path); err == nil {
			l.stamp = st
			l.recs.Store(buildRecords(n))
		}
	}
	return l.recs.Load()
}

// ServeDNS implements dns.Handler for one network's listener.
func (l *netListener) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if strings.HasPrefix(questionName(req), probePrefix) {
		_ = w.WriteMsg(l.srv.probeReply(req))
		return
	}
	rs := l.refresh()
	src := remoteAddr(w)
	var resp *dns.Msg
	if id, ok := rs.byIP[src]; !ok {
		// Not a container of this network (the host, or a query that
		// reached us some other way): no names and no forwarding, as a
		// container's own embedded DNS in Docker (on its loopback) would
		// give nobody else anything.
		resp = new(dns.Msg)
		resp.SetRcode(req, dns.RcodeRefused)
	} else if resp = l.srv.answer(req, l, rs, src); resp == nil {
		resp = l.srv.forward(req, w.LocalAddr().Network() == "tcp", rs.dns[id])
	}
	if w.LocalAddr().Network() != "tcp" {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	_ = w.WriteMsg(resp)
}

func remoteAddr(w dns.ResponseWriter) netip.Addr {
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

// scope is one network's records as seen by a query.
type scope struct {
	l  *netListener
	rs *recordSet
}

// answer resolves req for the container at src, which asked on l's
// network: its own links first, then l's network, then every other network
// the container is attached to (never a network it is not on). nil means
// the name is not ours: forward it.
func (s *dnsServer) answer(req *dns.Msg, l *netListener, rs *recordSet, src netip.Addr) *dns.Msg {
	scopes := []scope{{l, rs}}
	id := rs.byIP[src]
	if id != "" {
		if others := s.listeners.Load(); others != nil {
			for _, o := range *others {
				if o == l {
					continue
				}
				if ors := o.refresh(); ors.has(id) {
					scopes = append(scopes, scope{o, ors})
				}
			}
		}
		if len(req.Question) == 1 {
			name := strings.ToLower(strings.TrimSuffix(req.Question[0].Name, "."))
			for _, sc := range scopes {
				if target, ok := sc.rs.links[id][name]; ok {
					if r := resolveAs(req, sc.rs, sc.l.rr.Add(1)-1, target); r != nil && r.Rcode == dns.RcodeSuccess {
						return r
					}
				}
			}
		}
	}
	var miss *dns.Msg
	for _, sc := range scopes {
		if _, ok := sc.rs.names[questionName(req)]; !ok && len(scopes) > 1 && sc.l != l {
			continue // keep the other networks' round-robin counters for their own names
		}
		r := resolve(req, sc.rs, sc.l.rr.Add(1)-1)
		if r != nil && r.Rcode == dns.RcodeSuccess && (len(r.Answer) > 0 || sc.rs.names[questionName(req)] != nil) {
			return r
		}
		if miss == nil && r != nil {
			miss = r
		}
	}
	return miss
}

func questionName(req *dns.Msg) string {
	if len(req.Question) != 1 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(req.Question[0].Name, "."))
}

// forward asks own (the asking container's dns servers) or else the host's
// resolvers, retrying over TCP when a UDP answer is truncated; SERVFAIL
// when none answers.
func (s *dnsServer) forward(req *dns.Msg, overTCP bool, own []string) *dns.Msg {
	ups := &own
	if len(own) == 0 {
		ups = s.upstreams.Load()
	}
	if ups != nil {
		for _, up := range *ups {
			proto := "udp"
			if overTCP {
				proto = "tcp"
			}
			c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
			resp, _, err := c.Exchange(req, up)
			if err == nil && resp.Truncated && proto == "udp" {
				c.Net = "tcp"
				resp, _, err = c.Exchange(req, up)
			}
			if err == nil {
				resp.Id = req.Id
				return resp
			}
		}
	}
	resp := new(dns.Msg)
	resp.SetRcode(req, dns.RcodeServerFailure)
	resp.RecursionAvailable = true
	return resp
}

// probeReply answers EnsureDNS's probe: its own name as TXT for ours,
// REFUSED for the probe of another RunDir's server.
func (s *dnsServer) probeReply(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	probe := probeName(s.runDir)
	if questionName(req) != strings.TrimSuffix(probe, ".") {
		resp.SetRcode(req, dns.RcodeRefused)
		return resp
	}
	resp.SetReply(req)
	resp.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: probe, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{probe}}}
	return resp
}
