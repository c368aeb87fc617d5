package engine

import (
	"fmt"
	"os"

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

// dryRunBuild prints the steps a build of svcs would run and builds nothing.
func (e *Engine) dryRunBuild(p *types.Project, svcs []types.ServiceConfig, args map[string]string, quiet bool) error {
	for _, svc := range buildOrder(svcs) {
		bo, err := buildOptions(p, svc, args)
		if err != nil {
			return err
		}
		steps, err := build.Steps(bo)
		if err != nil {
			return fmt.Errorf("service %q: %w", svc.Name, err)
		}
		if quiet || e.progressMode == progress.ModeQuiet {
			continue
		}
		fmt.Fprintf(e.err, " %sbuild service %s\n", dryRunPrefix, svc.Name)
		for _, s := range steps {
			fmt.Fprintf(e.err, " %s%s\n", dryRunPrefix, s)
		}
		for _, t := range bo.Tags {
			fmt.Fprintf(e.err, " %s==> ==> naming to %s\n", dryRunPrefix, t)
		}
		fmt.Fprintf(e.err, " %sService %s  Built\n", dryRunPrefix, svc.Name)
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
