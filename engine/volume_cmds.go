package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/volumes"
)

// VolumeCreateOptions are the flags of `compose volume create`.
type VolumeCreateOptions struct {
	Name    string // "" = a random name, like Docker
	Driver  string // "" or "local"
	Labels  map[string]string
	Options map[string]string // driver options (-o type=none ...)
}

// VolumeCreate creates a volume; an existing one of the same name is returned
// unchanged, as `docker volume create` does.
func (e *Engine) VolumeCreate(ctx context.Context, opts VolumeCreateOptions) (*volumes.Volume, error) {
	name := opts.Name
	if name == "" {
		name = record.NewID()
	}
	if err := volumes.ValidateOptions(name, opts.Driver, opts.Options); err != nil {
		return nil, err
	}
	v, err := e.volumeStore().Create(ctx, name, opts.Labels, opts.Options)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		return e.volumeStore().Get(name)
	}
	return v, err
}

// VolumeList lists every volume on this host, by name.
func (e *Engine) VolumeList() ([]*volumes.Volume, error) { return e.volumeStore().List() }

// VolumeInspect returns the named volumes; a missing one is an ErrNotFound.
func (e *Engine) VolumeInspect(names []string) ([]*volumes.Volume, error) {
	var out []*volumes.Volume
	for _, n := range names {
		v, err := e.volumeStore().Get(n)
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// VolumeRemove removes volumes that no container uses; force ignores
// missing ones (a volume in use is never removed).
func (e *Engine) VolumeRemove(ctx context.Context, names []string, force bool) error {
	var errs []error
	for _, n := range names {
		err := e.removeVolume(ctx, n, nil)
		if force && errors.Is(err, errdefs.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// VolumePrune removes the volumes no container uses: anonymous ones only,
// or all with all (Docker's `volume prune [-a]`). It returns the names removed.
func (e *Engine) VolumePrune(ctx context.Context, all bool) ([]string, error) {
	vols, err := e.volumeStore().List()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, v := range vols {
		if _, anon := v.Labels[labelAnonymous]; !all && !anon {
			continue
		}
		users, err := e.volumeUsers(v.Name, nil)
		if err != nil {
			return removed, err
		}
		if len(users) > 0 {
			continue
		}
		if err := e.would(func() error { return e.volumeStore().Remove(ctx, v.Name) }); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v.Name)
	}
	return removed, errors.Join(errs...)
}

// ParseKeyValues parses KEY=VALUE flag values (--label, --opt).
func ParseKeyValues(list []string, flag string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE: %w", flag, kv, errdefs.ErrInvalidArgument)
		}
		out[k] = v
	}
	return out, nil
}

// ProjectVolumes is `compose volumes`: the volumes labelled as the
// project's (the anonymous ones the runtime makes are not, as with
// Docker), by name; with services, only those their running containers
// mount, as Docker Compose lists them.
func (e *Engine) ProjectVolumes(projectName string, services []string) ([]*volumes.Volume, error) {
	all, err := e.volumeStore().List()
	if err != nil {
		return nil, err
	}
	mounted := map[string]bool{}
	if len(services) > 0 {
		recs, err := e.selectRecords(projectName, services, true)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if !isRunning(r) {
				continue
			}
			for _, v := range r.Volumes {
				mounted[v.Name] = true
			}
		}
	}
	var out []*volumes.Volume
	for _, v := range all {
		_, anonymous := v.Labels[labelAnonymous]
		if v.Labels[record.LabelProject] != projectName || anonymous || len(services) > 0 && !mounted[v.Name] {
			continue
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
