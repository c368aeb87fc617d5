package engine

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

// Docker Compose's labels on a pre_start hook's container.
const (
	labelHook      = "com.docker.compose.hook"
	labelHookIndex = "com.docker.compose.hook.index"
)

// preStartNeeded reports whether a service's pre_start hooks run before
// its containers start: as in Docker Compose, once per service and only
// when none of its replicas runs already.
func preStartNeeded(svc types.ServiceConfig, steps []step) bool {
	if len(svc.PreStart) == 0 {
		return false
	}
	for _, s := range steps {
		if s.op == opKeep || s.op == opRestart {
			return false
		}
	}
	return true
}

// runPreStart runs the service's pre_start hooks in order, each in a
// container of its own that shares the volumes of target (the replica
// about to start with the lowest number) and joins the networks the hook
// inherits from the service; svcImage is the service's image.
func (e *Engine) runPreStart(ctx context.Context, p *types.Project, svc types.ServiceConfig, target *record.Record, svcImage *image.Image) error {
	if e.dryRun {
		return nil
	}
	for i, hook := range svc.PreStart {
		if err := e.runPreStartHook(ctx, p, svc, target, svcImage, i, hook); err != nil {
			return err
		}
	}
	return nil
}

// runPreStartHook creates the index-th hook's container, runs it to
// completion and removes it; a non-zero exit is Docker Compose's error
// with the end of what the hook printed.
func (e *Engine) runPreStartHook(ctx context.Context, p *types.Project, svc types.ServiceConfig, target *record.Record, svcImage *image.Image, index int, hook types.PreStartHook) error {
	hsvc := preStartService(svc, hook, target)
	img, err := e.hookImage(ctx, hsvc, svc, svcImage)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s-pre_start-%d", p.Name, svc.Name, index)
	if err := e.removeLeftoverHook(ctx, p.Name, name); err != nil {
		return err
	}
	labels := map[string]string{labelHook: "pre_start", labelHookIndex: strconv.Itoa(index)}
	rec, err := e.createWith(ctx, &plan{project: p}, hsvc, 0, "", img, createOverrides{name: name, oneoff: true, labels: labels})
	if err != nil {
		return fmt.Errorf("service %q pre_start[%d]: %w", svc.Name, index, err)
	}
	bg := context.WithoutCancel(ctx)
	defer func() {
		if e.remove(bg, rec) == nil {
			_ = e.removeAnonymousVolumes(bg, rec)
		}
	}()
	if err := e.runtime.Start(ctx, rec.Spec); err != nil {
		return fmt.Errorf("service %q pre_start[%d]: %w", svc.Name, index, err)
	}
	st, err := e.runtime.Wait(ctx, rec.Dir)
	if err != nil {
		return err
	}
	out := e.newHookOutput(fmt.Sprintf("%s pre_start[%d] ->", svc.Name, index))
	if err := readHookLog(bg, rec, out); err != nil {
		return err
	}
	if st.ExitCode != 0 {
		return hookFailed(fmt.Sprintf("service %q pre_start[%d] exited with code %d", svc.Name, index, st.ExitCode), out.tail())
	}
	return nil
}

// preStartService is the hook's container as a service: the hook's own
// specification (compose-go completed it from the service's), the
// service's image when it names none, and the volumes of target.
func preStartService(svc types.ServiceConfig, hook types.PreStartHook, target *record.Record) types.ServiceConfig {
	h := types.ServiceConfig{Name: svc.Name, ContainerSpec: hook.ContainerSpec}
	if h.Image == "" {
		h.Image = svc.Image
	}
	h.VolumesFrom = append(slices.Clone(h.VolumesFrom), "container:"+target.Name)
	return h
}

// hookImage is the image of a hook's container: the service's, or one of
// its own, pulled when missing.
func (e *Engine) hookImage(ctx context.Context, hsvc, svc types.ServiceConfig, svcImage *image.Image) (*image.Image, error) {
	if hsvc.Image == svc.Image && svcImage != nil {
		return svcImage, nil
	}
	img, err := e.images.Get(hsvc.Image)
	if !errdefs.IsNotFound(err) {
		return img, err
	}
	pulled, err := e.pullServices(ctx, []types.ServiceConfig{hsvc}, false)
	if err != nil {
		return nil, err
	}
	return pulled[hsvc.Name], nil
}

// removeLeftoverHook removes a hook container a killed command left.
func (e *Engine) removeLeftoverHook(ctx context.Context, projectName, name string) error {
	recs, err := e.containers(projectName)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Name == name {
			return e.removeRecord(ctx, r, 0)
		}
	}
	return nil
}

// readHookLog passes what the hook's container printed to out, each
// stream to its own writer.
func readHookLog(ctx context.Context, rec *record.Record, out *hookOutput) error {
	stdout, stderr := out.writers()
	defer out.flush()
	return logs.Read(ctx, rec.LogPath(), logs.ReadOptions{Tail: -1}, func(en logs.Entry) error {
		w := stdout
		if en.Stream == "stderr" {
			w = stderr
		}
		_, err := io.WriteString(w, en.Line+"\n")
		return err
	})
}
