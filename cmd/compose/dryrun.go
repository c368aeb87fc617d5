package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
)

// dryRunCommands are the commands --dry-run works with: those that report
// their changes instead of making them (true: what they print on stdout is
// a report too, so it gets the dry-run prefix), and those that change
// nothing (false).
var dryRunCommands = map[string]bool{
	"up": false, "create": false, "commit": false, "export": false, "publish": false, "down": false, "scale": false, "start": false, "stop": false,
	"restart": false, "kill": false, "pause": false, "unpause": false,
	"rm": false, "pull": false, "push": false, "build": false,
	"volume rm": true, "volume prune": true, "network rm": true, "network prune": true,
	"image rm": true, "image prune": true,
	"ps": false, "logs": false, "config": false, "images": false, "version": false,
	"top": false, "port": false, "stats": false, "ls": false, "events": false,
	"image ls": false, "image inspect": false, "network ls": false, "network inspect": false,
	"volume ls": false, "volume inspect": false, "volumes": false, "graph": false,
	"k8s": false, // compose-k8s sends server-side dry runs
}

// checkDryRun refuses --dry-run for commands that cannot honour it yet,
// rather than letting them change the host.
func checkDryRun(g *globalOptions, c *cobra.Command) error {
	if !g.dryRun || !c.HasParent() {
		return nil
	}
	path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	prefixed, ok := dryRunCommands[path]
	if !ok {
		return fmt.Errorf("--dry-run is not supported by %q yet: %w", "compose "+path, errdefs.ErrInvalidArgument)
	}
	if prefixed {
		c.SetOut(&linePrefixer{w: c.OutOrStdout(), prefix: engine.DryRunPrefix})
	}
	return nil
}

// linePrefixer starts every line written through it with prefix.
type linePrefixer struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line: no prefix before the next byte
}

func (p *linePrefixer) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.mid {
			buf.WriteString(p.prefix)
		}
		buf.Write(line)
		p.mid = line[len(line)-1] != '\n'
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}
