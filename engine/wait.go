package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// WaitOptions are the flags of `compose wait`.
type WaitOptions struct {
	Services    []string
	DownProject bool // take the project down once they stopped
	Out         io.Writer
}

// Wait blocks until the running containers of services stop, printing each
// exit like Compose ("container "<id>" exited with status code N"), and
// returns the exit code of the last one. With DownProject the project is
// then taken down (Compose waits for all of them too).
func (e *Engine) Wait(ctx context.Context, projectName string, p *types.Project, opts WaitOptions) (int, error) {
	recs, err := e.selectRecords(projectName, opts.Services, true)
	if err != nil {
		return 0, err
	}
	var running []*record.Record
	for _, r := range recs {
		if isRunning(r) {
			running = append(running, r)
		}
	}
	if len(running) == 0 {
		return 0, fmt.Errorf("no containers for project %q: %w", projectName, errdefs.ErrNotFound)
	}
	type exit struct {
		r    *record.Record
		code int
		err  error
	}
	exits := make(chan exit, len(running))
	for _, r := range running {
		go func() {
			st, err := e.runtime.Wait(ctx, r.Dir)
			exits <- exit{r, st.ExitCode, err}
		}()
	}
	code := 0
	for range running {
		x := <-exits
		if x.err != nil {
			return 0, x.err
		}
		fmt.Fprintf(opts.Out, "container %q exited with status code %d\n", x.r.ID, x.code)
		code = x.code
	}
	if opts.DownProject {
		return code, e.Down(ctx, projectName, p, DownOptions{})
	}
	return code, nil
}
