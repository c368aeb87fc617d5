package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
)

// runMount is a RUN --mount, resolved: what the cache key takes from it,
// and how to make the container mount once the step runs.
type runMount struct {
	m      *instructions.Mount
	input  string // cache key input ("" = none)
	target string
	// created is a file the mount makes in the image (a secret's mount
	// point), removed from the layer afterwards.
	created string
	make    func(dir string) (runspec.Mount, error)
}

// runMounts resolves a RUN's --mount flags: cache (a directory kept across
// builds under the build state), tmpfs, bind (read-only, from the context
// or an earlier stage) and secret (from the build's secrets).
func (r *run) runMounts(ctx context.Context, c *instructions.RunCommand, stage int, parent *state) ([]runMount, error) {
	var out []runMount
	for i, m := range instructions.GetMounts(c) {
		target := m.Target
		if target != "" && !path.IsAbs(target) {
			target = path.Join("/", parent.cfg.Config.WorkingDir, target)
		}
		rm := runMount{m: m, target: target}
		switch m.Type {
		case instructions.MountTypeCache:
			rm.make = r.cacheMount(m, target)
		case instructions.MountTypeTmpfs:
			rm.make = tmpfsMount(m, target)
		case instructions.MountTypeBind:
			if err := r.bindMount(ctx, &rm, stage, i); err != nil {
				return nil, err
			}
		case instructions.MountTypeSecret:
			ok, err := r.secretMount(&rm, i)
			if err != nil {
				return nil, err
			}
			if !ok { // an optional secret that was not provided
				continue
			}
		default:
			return nil, fmt.Errorf("--mount=type=%s is not supported yet: %w", m.Type, errdefs.ErrInvalidArgument)
		}
		out = append(out, rm)
	}
	return out, nil
}

// cacheMount keeps a directory per cache id (default: the target) under
// the build state, made on first use with the mount's owner and mode.
func (r *run) cacheMount(m *instructions.Mount, target string) func(string) (runspec.Mount, error) {
	id := m.CacheID
	if id == "" {
		id = target
	}
	sum := sha256.Sum256([]byte(id))
	base := filepath.Join(r.b.Dir, "cache-mounts")
	if r.b.CacheDir != "" {
		base = filepath.Join(r.b.CacheDir, "mounts")
	}
	host := filepath.Join(base, hex.EncodeToString(sum[:16]))
	return func(string) (runspec.Mount, error) {
		if err := os.MkdirAll(filepath.Dir(host), 0o700); err != nil {
			return runspec.Mount{}, err
		}
		if err := os.Mkdir(host, 0o755); err == nil {
			if err := fileInfo(host, m, 0o755); err != nil {
				return runspec.Mount{}, err
			}
		} else if !os.IsExist(err) {
			return runspec.Mount{}, err
		}
		return runspec.Mount{Source: host, Destination: target, ReadOnly: m.ReadOnly}, nil
	}
}

// tmpfsMount is a fresh tmpfs, sized when the mount says so.
func tmpfsMount(m *instructions.Mount, target string) func(string) (runspec.Mount, error) {
	return func(string) (runspec.Mount, error) {
		var opts []string
		if m.SizeLimit > 0 {
			opts = append(opts, "size="+strconv.FormatInt(m.SizeLimit, 10))
		}
		return runspec.Mount{Type: "tmpfs", Destination: target, Options: opts}, nil
	}
}

// bindMount resolves a bind mount's source, the n-th mount of the step: a
// path of the build context, or of an earlier stage with from=.
func (r *run) bindMount(ctx context.Context, rm *runMount, stage, n int) error {
	m, target := rm.m, rm.target
	src := m.Source
	if src == "" {
		src = "/"
	}
	if m.From == "" {
		return r.bindContext(rm, src, n)
	}
	j, ok := r.d.stageIndex(m.From, stage)
	if !ok {
		return fmt.Errorf("--mount from=%s: only earlier stages are supported: %w", m.From, errdefs.ErrInvalidArgument)
	}
	from, err := r.stageState(ctx, j)
	if err != nil {
		return err
	}
	rm.input = "bind stage " + from.key
	rm.make = func(dir string) (runspec.Mount, error) {
		sub := filepath.Join(dir, "bind-"+strconv.Itoa(n))
		if err := os.Mkdir(sub, 0o700); err != nil {
			return runspec.Mount{}, err
		}
		root, err := container.MountBuildRootfs(sub, from.lower(r.b.Images))
		if err != nil {
			return runspec.Mount{}, err
		}
		host, err := (&writer{root: root}).hostPath(src)
		if err != nil {
			return runspec.Mount{}, err
		}
		// rw writes land in the overlay's throwaway upper dir.
		return runspec.Mount{Source: host, Destination: target, ReadOnly: m.ReadOnly}, nil
	}
	return nil
}

// bindContext binds the first match of src in the build context; the
// cache key takes its digest.
func (r *run) bindContext(rm *runMount, src string, n int) error {
	m, target := rm.m, rm.target
	matched, err := r.ctx.match(src)
	if err != nil {
		return err
	}
	d, err := r.ctx.digest(matched[:1])
	if err != nil {
		return err
	}
	rm.input = "bind context " + d
	one, bctx := matched[0], r.ctx
	rm.make = func(dir string) (runspec.Mount, error) {
		// A copy: .dockerignore applies, and writes (rw) are thrown away.
		copyDir := filepath.Join(dir, "bind-"+strconv.Itoa(n))
		if err := os.Mkdir(copyDir, 0o755); err != nil {
			return runspec.Mount{}, err
		}
		w := &writer{root: copyDir}
		host := copyDir
		err := bctx.walk(one, func(rel, p string, fi os.FileInfo) error {
			if !one.info.IsDir() {
				host = filepath.Join(copyDir, "file")
				return w.put("/file", p, fi)
			}
			return w.put(path.Join("/", rel), p, fi)
		})
		if err != nil {
			return runspec.Mount{}, err
		}
		return runspec.Mount{Source: host, Destination: target, ReadOnly: m.ReadOnly}, nil
	}
	return nil
}

// secretMount mounts a build secret, the n-th mount of the step, as a
// read-only file (default: /run/secrets/ID). It is false for an optional
// secret the build was not given: the mount is left out.
func (r *run) secretMount(rm *runMount, n int) (bool, error) {
	m, target := rm.m, rm.target
	id := m.CacheID
	if id == "" {
		id = m.Source
	}
	if id == "" {
		id = path.Base(target)
	}
	if target == "" {
		target = "/run/secrets/" + id
		rm.target = target
	}
	data, ok := r.opts.Secrets[id]
	if !ok {
		if m.Required {
			return false, fmt.Errorf("secret %s: not provided (add it to the service's build.secrets): %w", id, errdefs.ErrNotFound)
		}
		return false, nil
	}
	if m.Env != nil {
		return false, fmt.Errorf("--mount=type=secret,env= is not supported yet: %w", errdefs.ErrInvalidArgument)
	}
	rm.created = target
	rm.make = func(dir string) (runspec.Mount, error) {
		f := filepath.Join(dir, "secret-"+strconv.Itoa(n))
		if err := os.WriteFile(f, data, 0o400); err != nil {
			return runspec.Mount{}, err
		}
		if err := fileInfo(f, m, 0o400); err != nil {
			return runspec.Mount{}, err
		}
		return runspec.Mount{Source: f, Destination: target, ReadOnly: true}, nil
	}
	return true, nil
}

// fileInfo applies a mount's mode, uid and gid to what backs it.
func fileInfo(p string, m *instructions.Mount, mode os.FileMode) error {
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode)
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	if err := os.Chown(p, uid, gid); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// dropCreated removes from the layer a mount point file the step's mounts
// made, and the directories made for it, unless an image layer has them.
func dropCreated(upper string, lower []string, target string) {
	for p := path.Clean(target); p != "/"; p = path.Dir(p) {
		rel := filepath.FromSlash(p[1:])
		for _, l := range lower {
			if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
				return
			}
		}
		fi, err := os.Lstat(filepath.Join(upper, rel))
		if err != nil || (fi.Mode().IsRegular() && fi.Size() != 0) {
			return
		}
		if os.Remove(filepath.Join(upper, rel)) != nil { // a directory that is not empty
			return
		}
	}
}
