package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// CpOptions are the flags of `compose cp`.
type CpOptions struct {
	Source, Dest string // one of them is SERVICE:PATH
	Index        int    // the service's container number; 0 = the first
	All          bool   // reserved: Compose's deprecated --all
	FollowLink   bool   // -L
	Archive      bool   // -a
}

// Cp copies files between a service's container and the host, with `docker
// cp`'s rules. The container may be stopped.
func (e *Engine) Cp(ctx context.Context, projectName string, opts CpOptions) error {
	srcSvc, srcPath, srcIn := splitCpArg(opts.Source)
	dstSvc, dstPath, dstIn := splitCpArg(opts.Dest)
	switch {
	case srcIn && dstIn:
		return fmt.Errorf("copying between services is not supported: %w", errdefs.ErrInvalidArgument)
	case !srcIn && !dstIn:
		return fmt.Errorf("one of SRC and DEST must be SERVICE:PATH: %w", errdefs.ErrInvalidArgument)
	}
	if srcPath == "-" || dstPath == "-" {
		return fmt.Errorf("copying a tar stream from stdin or to stdout is not supported yet: %w", errdefs.ErrInvalidArgument)
	}
	service := srcSvc
	if dstIn {
		service = dstSvc
	}
	r, err := e.cpContainer(projectName, service, opts.Index)
	if err != nil {
		return err
	}
	copts := container.CopyOptions{FollowLink: opts.FollowLink, Archive: opts.Archive}
	if srcIn {
		err = e.runtime.CopyFrom(ctx, r.Dir, srcPath, dstPath, copts)
	} else {
		err = e.runtime.CopyTo(ctx, r.Dir, srcPath, dstPath, copts)
	}
	if err != nil {
		return fmt.Errorf("container %s: %w", r.Name, err)
	}
	return nil
}

// splitCpArg splits SERVICE:PATH; a path with a slash before any colon is local.
func splitCpArg(arg string) (service, path string, inContainer bool) {
	i := strings.IndexByte(arg, ':')
	if i <= 0 || strings.ContainsRune(arg[:i], '/') || strings.HasPrefix(arg, ".") {
		return "", arg, false
	}
	return arg[:i], arg[i+1:], true
}

// cpContainer is the service's container for cp: number index, or the
// first one (running or not).
func (e *Engine) cpContainer(projectName, service string, index int) (*record.Record, error) {
	recs, err := e.selectRecords(projectName, []string{service}, false)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if index == 0 || r.Number == index {
			return r, nil
		}
	}
	if index > 0 { // Compose: getSpecifiedContainer, pkg/compose/containers.go
		return nil, errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("service %q is not running container #%d", service, index))
	}
	return nil, errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no container found for service %q", service))
}
