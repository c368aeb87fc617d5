// Package volumes keeps named volumes on this host: each is a directory
// <dir>/<name>/_data with a small JSON record beside it, the layout Docker's
// local driver uses. It also fills a new volume from the image (copy-up) and
// writes the files of secrets and configs. The engine decides which volumes a
// container uses; this package only stores them.
package volumes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/internal/store/jsonfile"
)

// Driver is the only volume driver: Docker's "local".
const Driver = "local"

const recordFile = "volume.json"

// validName is Docker's rule for volume names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Volume is the record of one named volume.
type Volume struct {
	Name      string            `json:"Name"`
	Driver    string            `json:"Driver"`
	Labels    map[string]string `json:"Labels"`
	Options   map[string]string `json:"Options"` // driver_opts
	Scope     string            `json:"Scope"`
	CreatedAt time.Time         `json:"CreatedAt"`
	// Mountpoint is the _data dir, as `docker volume inspect` shows it.
	Mountpoint string `json:"Mountpoint"`
}

// Store is the volumes under one directory (<root>/volumes).
type Store struct {
	Dir string
}

func (s *Store) dir(name string) string { return filepath.Join(s.Dir, name) }

// lock serialises mutations of the store across compose invocations.
func (s *Store) lock(ctx context.Context) (*store.FileLock, error) {
	return store.Lock(ctx, filepath.Join(s.Dir, ".lock"))
}

// ValidateName checks a volume name the way Docker does.
func ValidateName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateOptions checks driver and driver_opts before anything is created:
// only the local driver, with no options, a bind of an existing host
// directory (type none, o bind, device), or a tmpfs.
func ValidateOptions(name, driver string, opts map[string]string) error {
	if driver != "" && driver != Driver {
		return fmt.Errorf("volume %q: driver %q is not supported (only local): %w", name, driver, errdefs.ErrInvalidArgument)
	}
	if len(opts) == 0 {
		return nil
	}
	switch opts["type"] {
	case "none":
		if !hasOpt(opts["o"], "bind") {
			return fmt.Errorf("volume %q: driver_opts type none needs o: bind: %w", name, errdefs.ErrInvalidArgument)
		}
		dev := opts["device"]
		if !filepath.IsAbs(dev) {
			return fmt.Errorf("volume %q: driver_opts device %q must be an absolute host path: %w", name, dev, errdefs.ErrInvalidArgument)
		}
		fi, err := os.Stat(dev)
		if err != nil {
			return fmt.Errorf("volume %q: device %s: %w", name, dev, errdefs.ErrNotFound)
		}
		if !fi.IsDir() {
			return fmt.Errorf("volume %q: device %s is not a directory: %w", name, dev, errdefs.ErrInvalidArgument)
		}
	case "tmpfs":
		if _, err := tmpfsData(opts["o"]); err != nil {
			return fmt.Errorf("volume %q: %w", name, err)
		}
	default:
		return fmt.Errorf("volume %q: driver_opts type %q is not supported (use none with o: bind, or tmpfs): %w", name, opts["type"], errdefs.ErrInvalidArgument)
	}
	return nil
}

func hasOpt(o, want string) bool {
	for _, f := range strings.Split(o, ",") {
		if strings.TrimSpace(f) == want {
			return true
		}
	}
	return false
}

// tmpfsData keeps the options a tmpfs understands (size, mode, uid, gid,
// nr_inodes); Docker users write size=100m, which tmpfs accepts as is.
func tmpfsData(o string) (string, error) {
	var keep []string
	for _, f := range strings.Split(o, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, _, _ := strings.Cut(f, "=")
		switch k {
		case "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks":
			keep = append(keep, f)
		default:
			return "", fmt.Errorf("tmpfs option %q is not supported: %w", f, errdefs.ErrInvalidArgument)
		}
	}
	return strings.Join(keep, ","), nil
}

// Create makes a volume; it fails with ErrAlreadyExists when the name is taken.
func (s *Store) Create(ctx context.Context, name string, labels, opts map[string]string) (*Volume, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := ValidateOptions(name, Driver, opts); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o711); err != nil {
		return nil, err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if _, err := s.Get(name); err == nil {
		return nil, fmt.Errorf("volume %q: %w", name, errdefs.ErrAlreadyExists)
	}
	v := &Volume{
		Name: name, Driver: Driver, Labels: labels, Options: opts, Scope: "local",
		CreatedAt: time.Now().UTC().Truncate(time.Second), Mountpoint: filepath.Join(s.dir(name), "_data"),
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Options == nil {
		v.Options = map[string]string{}
	}
	// 0o755 like Docker: the container's processes must reach _data.
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return nil, err
	}
	if err := jsonfile.Write(filepath.Join(s.dir(name), recordFile), v); err != nil {
		os.RemoveAll(s.dir(name))
		return nil, err
	}
	return v, nil
}

// Get returns a volume, or ErrNotFound.
func (s *Store) Get(name string) (*Volume, error) {
	if ValidateName(name) != nil {
		return nil, fmt.Errorf("volume %q: %w", name, errdefs.ErrNotFound)
	}
	var v Volume
	if err := jsonfile.Read(filepath.Join(s.dir(name), recordFile), &v); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errdefs.ErrNotFound) {
			return nil, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("volume %q: %w", name, err)
	}
	return &v, nil
}

// List returns every volume, by name.
func (s *Store) List() ([]*Volume, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Volume
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		if v, err := s.Get(ent.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Source is the host path a container mounts for the volume: the _data dir,
// or the device of a bind volume. A tmpfs volume gets its tmpfs mounted on
// _data here, on first use, so every container sharing it sees the same files.
func (s *Store) Source(v *Volume) (string, error) {
	switch v.Options["type"] {
	case "none":
		dev := v.Options["device"]
		if fi, err := os.Stat(dev); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("volume %q: device %s is not a directory: %w", v.Name, dev, errdefs.ErrNotFound)
		}
		return dev, nil
	case "tmpfs":
		if mounted(v.Mountpoint) {
			return v.Mountpoint, nil
		}
		data, err := tmpfsData(v.Options["o"])
		if err != nil {
			return "", err
		}
		if err := unix.Mount("tmpfs", v.Mountpoint, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
			return "", fmt.Errorf("volume %q: mount tmpfs: %w", v.Name, err)
		}
	}
	return v.Mountpoint, nil
}

// Remount mounts the tmpfs of a tmpfs volume again where it is missing (a
// reboot took it away), so that the containers binding its directory share
// one tmpfs, as before; other volumes need nothing. Callers at the same
// time mount it once.
func (s *Store) Remount(ctx context.Context, name string) error {
	v, err := s.Get(name)
	if err != nil {
		return err
	}
	if v.Options["type"] != "tmpfs" || mounted(v.Mountpoint) {
		return nil
	}
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	_, err = s.Source(v) // mounted meanwhile: nothing to do
	return err
}

// mounted reports whether dir is a mount point (its device differs from its parent's).
func mounted(dir string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(dir, &a) != nil || unix.Lstat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// Remove deletes a volume and its data (never the device of a bind volume).
// The caller checks that no container uses it.
func (s *Store) Remove(ctx context.Context, name string) error {
	v, err := s.Get(name)
	if err != nil {
		return err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if mounted(v.Mountpoint) {
		if err := unix.Unmount(v.Mountpoint, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("volume %q: unmount: %w", name, err)
		}
	}
	// The record goes first: a half-removed volume is no volume.
	if err := os.Remove(filepath.Join(s.dir(name), recordFile)); err != nil {
		return fmt.Errorf("volume %q: %w", name, err)
	}
	return os.RemoveAll(s.dir(name))
}
