package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/composer-dev/compose/engine/build"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/progress"
)

// ExportOptions are the flags of `compose export`.
type ExportOptions struct {
	Service string
	Index   int       // --index; 0: the first container
	Output  string    // -o; "" writes to Out
	Out     io.Writer // the archive's destination without -o
}

// Export writes a service's running container's filesystem as a tar
// archive, as docker export does: its root filesystem as the container
// sees it, without what is mounted into it (volumes, binds, the /etc files).
func (e *Engine) Export(ctx context.Context, projectName string, opts ExportOptions) error {
	r, err := e.runningContainer(projectName, opts.Service, opts.Index)
	if err != nil {
		return err
	}
	if opts.Output != "" {
		if err := validateOutputPath(opts.Output); err != nil {
			return fmt.Errorf("failed to export container: %w", err)
		}
	}
	e.beginProgress("export")
	defer e.endProgress()
	e.event(progress.Event{ID: r.Name, Text: "Exporting", Status: progress.Working})
	if !e.dryRun {
		err := e.runtime.WithRootfs(r.Dir, func(rootfs string) error {
			if opts.Output == "" {
				_, err := build.WriteLayer(rootfs, opts.Out, isRuntimeMount)
				return err
			}
			f, err := store.Create(opts.Output, 0o600)
			if err != nil {
				return err
			}
			if _, err := build.WriteLayer(rootfs, f, isRuntimeMount); err != nil {
				f.Abort()
				return err
			}
			return f.Commit()
		})
		if err != nil {
			e.event(progress.Event{ID: r.Name, Text: "Error", Status: progress.Error})
			return fmt.Errorf("container %s: %w", r.Name, err)
		}
	}
	e.event(progress.Event{ID: r.Name, Text: "Exported", Status: progress.Done})
	return nil
}

// isRuntimeMount: the kernel filesystems are left out of an export, their
// mount points kept (as in docker export's archive).
func isRuntimeMount(name string) bool {
	switch filepath.Dir(name) {
	case "proc", "sys", "dev":
		return true
	}
	return false
}

// validateOutputPath is the docker CLI's check of -o: its directory must
// exist, and it must be a regular file if it exists.
func validateOutputPath(path string) error {
	dir := filepath.Dir(filepath.Clean(path))
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return fmt.Errorf("invalid output path: directory %q does not exist: %w", dir, errdefs.ErrInvalidArgument)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		return fmt.Errorf("invalid output path: %q must be a directory or a regular file: %w", path, errdefs.ErrInvalidArgument)
	}
	return nil
}
