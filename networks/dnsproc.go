package networks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// dnsStartTimeout bounds EnsureDNS when ctx has no deadline.
const dnsStartTimeout = 15 * time.Second

// EnsureDNS makes sure the DNS server of this RunDir runs and answers on the
// gateway of the networks called names (every network when none is named):
// it starts it (detached, `Exe __dns StateDir RunDir`) or has the running
// one reload, then waits until each gateway answers a probe query. A
// gateway the server cannot listen on is an error naming the network
// (ErrConflict when another socket holds its address).
func (m *Manager) EnsureDNS(ctx context.Context, names ...string) error {
	nets, err := m.List()
	if err != nil || len(nets) == 0 {
		return err
	}
	if len(names) > 0 {
		nets = slices.DeleteFunc(nets, func(n Network) bool { return !slices.Contains(names, n.Name) })
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dnsStartTimeout)
		defer cancel()
	}
	l, err := store.Lock(ctx, filepath.Join(m.RunDir, dnsSpawnLock))
	if err != nil {
		return err
	}
	defer l.Unlock()
	if _, ok := m.dnsPID(); !ok {
		if err := m.spawnDNS(ctx); err != nil {
			return err
		}
	}
	status, err := reloadDNS(ctx, m.RunDir)
	switch {
	case errors.Is(err, errNoCtl): // a server of an older version: it reloads on SIGHUP
		m.notifyDNS()
	case err != nil:
		return fmt.Errorf("dns server: %w", err)
	}
	for _, n := range nets {
		if st := status[n.Name]; st.Error != "" {
			class := errdefs.ErrFailedPrecondition
			if st.Conflict {
				class = errdefs.ErrConflict
			}
			return errdefs.Mark(class, fmt.Errorf("network %q: %s", n.Name, st.Error))
		}
	}
	for _, n := range nets {
		if err := waitDNS(ctx, n.Gateway, probeName(m.RunDir)); err != nil {
			return fmt.Errorf("dns server on %s (network %q): %w", n.Gateway, n.Name, err)
		}
	}
	return nil
}

// dnsPID returns the running server's pid: the server holds a flock on its
// pidfile for its whole life, which (unlike a pid) cannot go stale.
func (m *Manager) dnsPID() (int, bool) {
	path := filepath.Join(m.RunDir, dnsPidFile)
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		return 0, false // nobody holds it: no server
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid, err == nil && pid > 0
}

// notifyDNS asks a running server to reload now (it also rescans by itself).
func (m *Manager) notifyDNS() {
	if pid, ok := m.dnsPID(); ok {
		_ = unix.Kill(pid, unix.SIGHUP)
	}
}

func (m *Manager) spawnDNS(ctx context.Context) error {
	if m.Exe == "" {
		return fmt.Errorf("dns server: no executable set: %w", errdefs.ErrFailedPrecondition)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(m.Exe, "__dns", m.StateDir, m.RunDir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child: the ready pipe
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("start dns server: %w", err)
	}
	// Reap it if we outlive it; it is detached otherwise.
	go func() { _ = cmd.Wait() }()

	if dl, ok := ctx.Deadline(); ok {
		_ = r.SetReadDeadline(dl)
	}
	buf := make([]byte, 1)
	if n, err := r.Read(buf); n != 1 {
		return fmt.Errorf("dns server did not become ready: %v", err)
	}
	return nil
}

// waitDNS polls gateway:53 until our server answers; each probe is a real
// TXT query for probe, which only the server of this RunDir answers with
// probe itself. Another one still bound there (its network, whose subnet
// we were given again, was just removed) does not.
func waitDNS(ctx context.Context, gateway, probe string) error {
	c := &dns.Client{Net: "udp", Timeout: 250 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(probe, dns.TypeTXT)
	addr := net.JoinHostPort(gateway, "53")
	backoff := 5 * time.Millisecond
	for {
		if r, _, err := c.ExchangeContext(ctx, q, addr); err == nil && isProbeAnswer(r, probe) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), errdefs.ErrFailedPrecondition)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// ReviveDNS starts the DNS server again if it is not running (it was
// killed, or the host rebooted) and makes sure it serves the networks
// called names; a running server is left alone, so this is cheap enough
// for every container start.
func (m *Manager) ReviveDNS(ctx context.Context, names ...string) error {
	if _, ok := m.dnsPID(); ok {
		return nil
	}
	return m.EnsureDNS(ctx, names...)
}

// probePrefix starts the probe names of EnsureDNS: probeName(runDir) is
// the one the server of runDir knows as its own.
const probePrefix = "compose-dns-probe-"

func probeName(runDir string) string {
	return probePrefix + filepath.Base(runDir) + "."
}

func isProbeAnswer(r *dns.Msg, probe string) bool {
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok && len(txt.Txt) == 1 && txt.Txt[0] == probe {
			return true
		}
	}
	return false
}
