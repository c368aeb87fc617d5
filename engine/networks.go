package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/networks"
)

// resolveNetworkMode turns service:NAME / container:NAME into
// "container:<id>" of the container whose namespace is shared.
func (e *Engine) resolveNetworkMode(projectName, mode string) (string, *record.Record, error) {
	if !strings.HasPrefix(mode, "service:") && !strings.HasPrefix(mode, "container:") {
		return mode, nil, nil
	}
	dir, err := containerDir(e.records.ContainersDir(), projectName, mode)
	if err != nil {
		return "", nil, fmt.Errorf("network_mode: %w", err)
	}
	r, err := record.Load(dir)
	if err != nil {
		return "", nil, err
	}
	return "container:" + r.ID, r, nil
}

// joinNetworkMode is connect for a container without networks of its own:
// host shares the host's namespace and files, container:<id> the other
// container's; none (or "") falls through to a private namespace.
func joinNetworkMode(nets *networks.Manager, rec *record.Record, spec *runspec.Spec) (bool, error) {
	switch {
	case rec.NetworkMode == "host":
		spec.NetNS = runspec.HostNetNS
		return true, copyEtc("/etc/hosts", filepath.Join(rec.Dir, "hosts"))
	case strings.HasPrefix(rec.NetworkMode, "container:"):
		id := strings.TrimPrefix(rec.NetworkMode, "container:")
		path, err := nets.NetNSPath(id)
		if err != nil {
			return true, err
		}
		spec.NetNS = path
		other := filepath.Join(filepath.Dir(rec.Dir), id, "hosts")
		return true, copyEtc(other, filepath.Join(rec.Dir, "hosts"))
	}
	return false, nil
}

func copyEtc(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return store.WriteFile(dst, data, 0o644)
}

// checkNetworks compares the project's networks with those that exist
// already, before anything starts, the way Docker Compose does: a network
// of another project (or not made by compose) is used with a warning; one
// of this project whose options changed must be recreated first.
func (e *Engine) checkNetworks(pl *plan) error {
	p := pl.project
	for _, key := range pl.networks {
		nw := p.Networks[key]
		if bool(nw.External) {
			continue
		}
		n, err := e.nets.Get(nw.Name)
		if err != nil {
			continue // created by converge
		}
		owner, ok := n.Labels[record.LabelProject]
		switch {
		case !ok:
			e.warn(nw.Name, fmt.Sprintf("a network with name %s exists but was not created by compose.\nSet `external: true` to use an existing network", nw.Name))
			continue
		case owner != p.Name:
			e.warn(nw.Name, fmt.Sprintf("a network with name %s exists but was not created for project %q.\nSet `external: true` to use an existing network", nw.Name, p.Name))
			continue
		}
		opts, err := specgen.NetworkOptions(key, nw)
		if err != nil {
			return err
		}
		opts.Labels = nw.Labels
		if n.Changed(opts) != "" {
			pl.diverged = append(pl.diverged, nw.Name)
		}
	}
	return nil
}

// recreateNetworks removes the project's networks whose options changed,
// with the project's containers attached to them, as Docker Compose does;
// converge then creates both anew. A network another project's container
// still uses cannot go: that is an error naming it.
func (e *Engine) recreateNetworks(ctx context.Context, pl *plan) error {
	if len(pl.diverged) == 0 {
		return nil
	}
	recs, err := e.containers(pl.project.Name)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, name := range pl.diverged {
		e.progress("Network", name, "Recreate")
		for _, r := range recs {
			if !gone[r.ID] && slices.ContainsFunc(r.Networks, func(a record.Attachment) bool { return a.Network == name }) {
				gone[r.ID] = true
				if err := e.removeRecord(ctx, r, recordTimeout(r, nil)); err != nil {
					return err
				}
			}
		}
		if err := e.would(func() error { return e.nets.Remove(ctx, name) }); err != nil {
			return fmt.Errorf("network %s needs to be recreated (its options changed): %w", name, err)
		}
		e.progress("Network", name, "Removed")
	}
	return nil
}
