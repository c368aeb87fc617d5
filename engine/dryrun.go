package engine

import (
	"crypto/sha1"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/build"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/progress"
)

// dryRunPrefix starts every progress line in --dry-run mode, as in Docker Compose.
const dryRunPrefix = "DRY-RUN MODE -  "

// DryRunPrefix is dryRunPrefix, for the reports the commands print themselves.
const DryRunPrefix = dryRunPrefix

// openImagesDryRun opens the image store without creating anything: a
// root that does not exist yet is read as an empty store.
func openImagesDryRun(dir string) (s *image.Store, err error) {
	defer func() {
		if s != nil {
			s.DryRun = true
		}
	}()
	if _, err := os.Stat(dir); err == nil {
		return image.Open(dir)
	}
	tmp, err := os.MkdirTemp("", "compose-dry-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	return image.Open(tmp)
}

// would makes a change to the host, or in --dry-run mode only pretends it
// did: the one place the commands that report as they go decide to act.
func (e *Engine) would(change func() error) error {
	if e.dryRun {
		return nil
	}
	return change()
}

// dryRunBuild checks the Dockerfiles of svcs and reports what a build would
// make, as Docker Compose's dry run does (build_bake.go, dryRunBake): no
// image is built.
func (e *Engine) dryRunBuild(p *types.Project, svcs []types.ServiceConfig, args map[string]string) error {
	var names []string
	for _, svc := range buildOrder(svcs) {
		bo, err := buildOptions(p, svc, args)
		if err != nil {
			return err
		}
		if _, err := build.Steps(bo); err != nil {
			return fmt.Errorf("service %q: %w", svc.Name, err)
		}
		e.progress("Image", serviceImage(p, svc), "Building")
		name := strings.ReplaceAll(svc.Name, ".", "_") // bake's target name
		id := fmt.Sprintf("dryRun-%x", sha1.Sum([]byte(name)))
		e.event(progress.Event{ID: name + " ==>", Text: "==> writing image " + id, Status: progress.Done})
		tag := bo.Tags[0] // bake's tags: the build's own first, then the image
		if len(svc.Build.Tags) > 0 {
			tag = svc.Build.Tags[0]
		}
		e.event(progress.Event{ID: name + " ==> ==>", Text: "naming to " + tag, Status: progress.Done})
		names = append(names, name)
	}
	for _, name := range names { // Compose names the target here, not the image
		e.progress("Image", name, "Built")
	}
	return nil
}

// dryRunImage stands in for an image a dry run did not pull or build: the
// one stored under ref, or one no container has (so theirs count as changed).
func (e *Engine) dryRunImage(ref string) *image.Image {
	if img, err := e.images.Get(ref); err == nil {
		return img
	}
	return &image.Image{ID: "unknown"}
}
