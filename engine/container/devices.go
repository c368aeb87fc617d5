package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// containerDevices returns the device nodes Device d adds to the container
// and the cgroup rules that allow them.
func containerDevices(d Device) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	perms := d.Permissions
	if perms == "" {
		perms = "rwm"
	}
	if !validPerms(perms) {
		return nil, nil, fmt.Errorf("device %s: permissions %q: want a combination of r, w and m: %w", d.Source, perms, errdefs.ErrInvalidArgument)
	}
	target := d.Target
	if target == "" {
		target = d.Source
	}
	if !filepath.IsAbs(d.Source) || !filepath.IsAbs(target) {
		return nil, nil, fmt.Errorf("device %s:%s: paths must be absolute: %w", d.Source, target, errdefs.ErrInvalidArgument)
	}
	src, err := filepath.EvalSymlinks(d.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("device %s: %w", d.Source, errdefs.Mark(errdefs.ErrNotFound, err))
	}
	nodes, err := hostDevices(src, target)
	if err != nil {
		return nil, nil, fmt.Errorf("device %s: %w", d.Source, err)
	}
	if len(nodes) == 0 {
		return nil, nil, fmt.Errorf("device %s is not a device node (or a directory of them): %w", d.Source, errdefs.ErrInvalidArgument)
	}
	rules := make([]specs.LinuxDeviceCgroup, 0, len(nodes))
	for _, n := range nodes {
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: n.Type, Major: &n.Major, Minor: &n.Minor, Access: perms})
	}
	return nodes, rules, nil
}

// hostDevices lists the device nodes at src (a node or a directory walked
// recursively), placed at the same relative paths under target.
func hostDevices(src, target string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == src {
				return err
			}
			return nil // a node that vanished or cannot be read
		}
		if e.IsDir() {
			if path != src && skippedDevDirs[e.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if path != src && e.Name() == "console" {
			return nil // the container gets its own
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if dev, ok := deviceNode(path, filepath.Join(target, rel)); ok {
			out = append(out, dev)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.Mark(errdefs.ErrNotFound, err)
	}
	return out, err
}

// skippedDevDirs are directories of /dev that are mounted per container or
// hold no devices worth passing (as runc skips them for privileged ones).
var skippedDevDirs = map[string]bool{"pts": true, "shm": true, "fd": true, "mqueue": true, ".lxc": true, ".lxd-mounts": true, ".udev": true}

// deviceNode describes the host's node at path, if it is a device or fifo.
func deviceNode(path, target string) (specs.LinuxDevice, bool) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return specs.LinuxDevice{}, false
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	case unix.S_IFIFO:
		typ = "p"
	default:
		return specs.LinuxDevice{}, false
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: target, Type: typ,
		Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, true
}

func validPerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.Count(p, string(c)) > 1 {
			return false
		}
	}
	return true
}

var cgroupRuleRE = regexp.MustCompile(`^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`)

// ParseDeviceCgroupRule reads a device_cgroup_rules entry such as
// "c 1:3 mr" or "a *:* rwm".
func ParseDeviceCgroupRule(rule string) (specs.LinuxDeviceCgroup, error) {
	m := cgroupRuleRE.FindStringSubmatch(rule)
	if m == nil || !validPerms(m[4]) {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("device cgroup rule %q: want TYPE MAJOR:MINOR PERMS, e.g. \"c 1:3 mr\": %w", rule, errdefs.ErrInvalidArgument)
	}
	r := specs.LinuxDeviceCgroup{Allow: true, Type: m[1], Access: m[4]}
	if m[2] != "*" {
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return r, fmt.Errorf("device cgroup rule %q: %w", rule, errdefs.ErrInvalidArgument)
		}
		r.Major = &n
	}
	if m[3] != "*" {
		n, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			return r, fmt.Errorf("device cgroup rule %q: %w", rule, errdefs.ErrInvalidArgument)
		}
		r.Minor = &n
	}
	return r, nil
}
