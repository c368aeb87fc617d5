package networks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

var nsIDRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func (m *Manager) netnsPath(id string) (string, error) {
	if !nsIDRE.MatchString(id) {
		return "", fmt.Errorf("netns id %q: %w", id, errdefs.ErrInvalidArgument)
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return filepath.Join(m.netnsDir(), id), nil
}

// CreateNetNS makes a new network namespace, bind-mounted at
// RunDir/netns/<id[:12]> so it outlives any process, with lo up. Calling it
// again for a mounted namespace returns the same path.
func (m *Manager) CreateNetNS(id string) (string, error) {
	path, err := m.netnsPath(id)
	if err != nil {
		return "", err
	}
	if isNetNS(path) {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return "", err
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		// Unshare on a locked thread and switch it back afterwards. If the
		// switch back fails the thread stays locked, so Go retires it
		// instead of running other goroutines in the new namespace.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare netns: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		err = unix.Mount(src, path, "", unix.MS_BIND, "")
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		if err != nil {
			err = fmt.Errorf("bind netns to %s: %w", path, err)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return "", err
	}
	if err := setLoUp(path); err != nil {
		_ = unmountRemove(path)
		return "", err
	}
	return path, nil
}

func setLoUp(nsPath string) error {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo in %s: %w", nsPath, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up in %s: %w", nsPath, err)
	}
	return nil
}

// DeleteNetNS unmounts and removes the namespace's bind mount; the kernel
// destroys the namespace, and the veth peers in it, once nothing uses it.
func (m *Manager) DeleteNetNS(id string) error {
	path, err := m.netnsPath(id)
	if err != nil {
		return err
	}
	return unmountRemove(path)
}

func unmountRemove(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// isNetNS reports whether path is a mounted network namespace.
func isNetNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// NetNSPath is the mounted namespace of the container id, for another
// container to join (network_mode: service:x / container:x);
// ErrFailedPrecondition when it has none (not running).
func (m *Manager) NetNSPath(id string) (string, error) {
	path, err := m.netnsPath(id)
	if err != nil {
		return "", err
	}
	if !isNetNS(path) {
		return "", fmt.Errorf("container %.12s has no network namespace (is it running?): %w", id, errdefs.ErrFailedPrecondition)
	}
	return path, nil
}
