package build

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/container"
)

// layerStep runs a step that may change the filesystem: from the cache
// when key is known there and its layers are stored, else exec fills the
// overlay upper dir of a fresh step directory, which becomes the layer.
func (r *run) layerStep(ctx context.Context, parent *state, key, text, label string, exec func(ctx context.Context, dir string, n int) error) (*state, error) {
	n := r.b.nextStep()
	fmt.Fprintf(r.opts.Out, "#%d %s %s\n", n, label, text)
	c := &cache{dir: r.b.CacheDir}
	if !r.opts.NoCache && !parent.uncached {
		if raw, ok := c.get(key); ok {
			st := &state{key: key, args: parent.args, cmdSet: parent.cmdSet}
			if json.Unmarshal(raw, &st.cfg) == nil && r.stored(st.cfg.RootFS.DiffIDs) {
				fmt.Fprintf(r.opts.Out, "#%d CACHED\n", n)
				r.res.Cached++
				return st, nil
			}
		}
	}
	start := time.Now()
	if err := os.MkdirAll(r.b.Dir, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(r.b.Dir, stepPrefix())
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = container.UnmountBuildRootfs(dir)
		_ = r.b.Runtime.Remove(context.WithoutCancel(ctx), dir)
		_ = os.RemoveAll(dir)
	}()
	if err := os.WriteFile(filepath.Join(dir, container.BuildMarker), nil, 0o600); err != nil {
		return nil, err
	}
	if err := exec(ctx, dir, n); err != nil {
		return nil, err
	}
	if err := container.UnmountBuildRootfs(dir); err != nil {
		return nil, err
	}
	st := parent.clone()
	st.key = key
	created := now()
	hist := v1.History{Created: created, CreatedBy: text, Comment: historyComment}
	diffID, empty, err := r.commitLayer(ctx, dir)
	if err != nil {
		return nil, err
	}
	if empty {
		hist.EmptyLayer = true
	} else {
		st.cfg.RootFS.DiffIDs = append(st.cfg.RootFS.DiffIDs, diffID)
	}
	st.cfg.History = append(st.cfg.History, hist)
	st.cfg.Created = created
	raw, err := json.Marshal(st.cfg)
	if err != nil {
		return nil, err
	}
	if err := c.put(key, raw); err != nil {
		return nil, err
	}
	r.res.Built++
	fmt.Fprintf(r.opts.Out, "#%d DONE %.1fs\n", n, time.Since(start).Seconds())
	return st, nil
}

func (r *run) stored(diffIDs []v1.Hash) bool {
	for _, d := range diffIDs {
		if !r.b.Images.HasLayer(d) {
			return false
		}
	}
	return true
}

// commitLayer turns the step's upper dir into a stored layer.
func (r *run) commitLayer(ctx context.Context, dir string) (v1.Hash, bool, error) {
	f, err := os.CreateTemp(dir, "layer-*.tar")
	if err != nil {
		return v1.Hash{}, false, err
	}
	defer os.Remove(f.Name())
	n, err := writeLayer(container.UpperDir(dir), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return v1.Hash{}, false, fmt.Errorf("writing layer: %w", err)
	}
	if n == 0 {
		return v1.Hash{}, true, nil
	}
	diffID, _, err := r.b.Images.AddLayerFile(ctx, f.Name())
	return diffID, false, err
}
