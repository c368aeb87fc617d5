package engine

import (
	"context"

	"fmt"
	"strings"
	"time"

	"github.com/composer-dev/compose/engine/record"
)

// Separator is what joins project, service and number in the names of
// containers and built images: "-", or Compose v1's "_" in compatibility
// mode (--compatibility), as Docker Compose's api.Separator.
func Separator(compatibility bool) string {
	if compatibility {
		return "_"
	}
	return "-"
}

// containerName is the name of a service's container number n:
// <project>-<service>-<n>.
func (e *Engine) containerName(project, service string, n int) string {
	return fmt.Sprintf("%s%s%s%s%d", project, e.separator(), service, e.separator(), n)
}

// runName is the name of a one-off container: <project>-<service>-run-<slug>.
func (e *Engine) runName(project, service, slug string) string {
	s := e.separator()
	return project + s + service + s + "run" + s + slug
}

// imageName is the name compose gives the image it builds for a service
// without `image:`, <project>-<service>.
func (e *Engine) imageName(project, service string) string {
	return strings.ToLower(project + e.separator() + service)
}

func (e *Engine) separator() string {
	if e == nil || e.sep == "" {
		return "-"
	}
	return e.sep
}

// limit is the bound on parallel operations: --parallel, else def.
func (e *Engine) limit(def int) int {
	if e.parallel > 0 {
		return e.parallel
	}
	return def
}

// bounded wraps fn so that at most --parallel calls run at once.
func (e *Engine) bounded(fn func(context.Context, *record.Record) error) func(context.Context, *record.Record) error {
	if e.parallel <= 0 {
		return fn
	}
	sem := make(chan struct{}, e.parallel)
	return func(ctx context.Context, r *record.Record) error {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-sem }()
		return fn(ctx, r)
	}
}

// debugf prints a debug line with --verbose, in the format Docker
// Compose's logger gives its debug lines.
func (e *Engine) debugf(format string, args ...any) {
	if !e.verbose {
		return
	}
	fmt.Fprintf(e.err, "DEBU[%04d] %s\n", int(time.Since(processStart).Seconds()), fmt.Sprintf(format, args...))
}
