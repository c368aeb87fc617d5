package networks

import (
	"context"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HostVeths names the host-side veths of the given containers' endpoints,
// on every network.
func (m *Manager) HostVeths(containerIDs []string) []string {
	nets, err := m.List()
	if err != nil {
		return nil
	}
	ids := map[string]bool{}
	for _, id := range containerIDs {
		ids[id] = true
	}
	var out []string
	for _, n := range nets {
		for _, e := range n.Endpoints {
			if ids[e.ContainerID] && e.HostIface != "" {
				out = append(out, e.HostIface)
			}
		}
	}
	return out
}

// AwaitLinksGone waits until none of the host veths names exists: the
// kernel removes them with their namespaces (see Detach). It wakes on
// netlink's link-deletion events; what is still there after timeout, or
// when ctx ends, is deleted here.
func AwaitLinksGone(ctx context.Context, names []string, timeout time.Duration) {
	if len(names) == 0 {
		return
	}
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	subscribed := netlink.LinkSubscribe(updates, done) == nil
	left := map[string]bool{}
	for _, n := range names { // after subscribing: no deletion goes unseen
		if _, err := netlink.LinkByName(n); err == nil {
			left[n] = true
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for subscribed && len(left) > 0 {
		select {
		case u, ok := <-updates:
			if !ok {
				subscribed = false
			} else if name := u.Attrs().Name; u.Header.Type == unix.RTM_DELLINK && left[name] {
				// A bridge announces a port leaving it as RTM_DELLINK too.
				if _, err := netlink.LinkByName(name); err != nil {
					delete(left, name)
				}
			}
		case <-timer.C:
			subscribed = false
		case <-ctx.Done():
			subscribed = false
		}
	}
	for n := range left {
		deleteHostVeth(n)
	}
	// Drain, so the subscription's reader is never stuck on a full channel.
	go func() {
		for range updates {
		}
	}()
}
