package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/build"
	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

// CommitOptions are the flags of `compose commit`.
type CommitOptions struct {
	Service   string
	Index     int    // --index; 0: the first container
	Reference string // REPOSITORY[:TAG]; "" leaves the image untagged
	Pause     bool   // -p: freeze the container while its changes are read
	Comment   string // -m
	Author    string // -a
	Changes   []string
}

// runtimePaths are what the runtime itself puts in a container's root
// filesystem (mount points of its /etc files and kernel filesystems):
// Docker keeps them in an init layer, out of what commit records.
var runtimePaths = []string{"etc/hosts", "etc/hostname", "etc/resolv.conf", "dev", "proc", "sys", ".dockerenv"}

func isRuntimePath(name string) bool {
	return slices.ContainsFunc(runtimePaths, func(p string) bool { return name == p || strings.HasPrefix(name, p+"/") })
}

// Commit makes an image of a service's running container: its image with
// the container's configuration, --change instructions applied, and one
// layer of what the container changed (its overlay upper dir), as docker
// commit does. It returns the new image's ID.
func (e *Engine) Commit(ctx context.Context, projectName string, opts CommitOptions) (string, error) {
	r, err := e.runningContainer(projectName, opts.Service, opts.Index)
	if err != nil {
		return "", err
	}
	e.beginProgress("commit")
	defer e.endProgress()
	e.event(progress.Event{ID: r.Name, Text: "Committing", Status: progress.Working})
	cfg, err := e.commitConfig(r, opts)
	if err != nil {
		return "", err
	}
	if e.dryRun {
		e.event(progress.Event{ID: r.Name, Text: "Committed", Status: progress.Done})
		return "", nil
	}
	diffID, empty, err := e.commitLayer(ctx, r, opts.Pause)
	if err != nil {
		return "", fmt.Errorf("container %s: %w", r.Name, err)
	}
	if !empty {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	cfg.History = append(cfg.History, v1.History{
		Created: v1.Time{Time: cfg.Created.Time}, CreatedBy: strings.Join(r.Spec.Args, " "),
		Author: opts.Author, Comment: opts.Comment, EmptyLayer: empty,
	})
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	img, err := e.images.ImageFromConfig(raw)
	if err != nil {
		return "", err
	}
	var refs []string
	if opts.Reference != "" {
		refs = append(refs, opts.Reference)
	}
	id, err := e.images.Add(ctx, img, refs...)
	if err != nil {
		return "", err
	}
	e.event(progress.Event{ID: r.Name, Text: "Committed as " + id, Status: progress.Done})
	return id, nil
}

// commitConfig is the container's image config with what the container
// runs with (command, environment, working dir, user, labels) and the
// --change instructions.
func (e *Engine) commitConfig(r *record.Record, opts CommitOptions) (*v1.ConfigFile, error) {
	raw, err := e.images.RawConfig(r.ImageID)
	if err != nil {
		return nil, fmt.Errorf("container %s: image %s: %w", r.Name, r.ImageID, err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	c := &cfg.Config
	if ep := c.Entrypoint; len(ep) > 0 && len(r.Spec.Args) >= len(ep) && slices.Equal(r.Spec.Args[:len(ep)], ep) {
		c.Cmd = slices.Clone(r.Spec.Args[len(ep):])
	} else {
		c.Entrypoint, c.Cmd = nil, slices.Clone(r.Spec.Args)
	}
	c.Env = slices.Clone(r.Spec.Env)
	if r.Spec.Cwd != "" {
		c.WorkingDir = r.Spec.Cwd
	}
	c.User = r.Spec.User
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for k, v := range r.Labels {
		c.Labels[k] = v
	}
	if err := build.ApplyChanges(&cfg, opts.Changes); err != nil {
		return nil, err
	}
	cfg.Created = v1.Time{Time: time.Now().UTC()}
	if opts.Author != "" {
		cfg.Author = opts.Author
	}
	return &cfg, nil
}

// commitLayer stores the container's changes as a layer, the container
// frozen meanwhile with pause. empty: it changed nothing.
func (e *Engine) commitLayer(ctx context.Context, r *record.Record, pause bool) (diffID v1.Hash, empty bool, err error) {
	upper := container.UpperDir(r.Dir)
	if _, err := os.Stat(upper); err != nil {
		return v1.Hash{}, false, fmt.Errorf("commit needs the overlay storage driver (no upper dir: %v): %w", err, errdefs.ErrFailedPrecondition)
	}
	if pause && !e.runtime.Paused(r.Dir) {
		if err := e.runtime.Pause(ctx, r.Dir); err != nil {
			return v1.Hash{}, false, err
		}
		defer func() {
			if rerr := e.runtime.Resume(context.WithoutCancel(ctx), r.Dir); err == nil {
				err = rerr
			}
		}()
	}
	f, err := os.CreateTemp(r.Dir, "commit-*.tar")
	if err != nil {
		return v1.Hash{}, false, err
	}
	defer os.Remove(f.Name())
	n, err := build.WriteLayer(upper, f, isRuntimePath)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		return v1.Hash{}, n == 0, err
	}
	diffID, _, err = e.images.AddLayerFile(ctx, f.Name())
	return diffID, false, err
}
