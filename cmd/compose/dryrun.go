package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/errdefs"
)

// dryRunCommands are the commands --dry-run works with: those that report
// their changes instead of making them, and those that change nothing.
var dryRunCommands = map[string]bool{
	"up": true, "down": true, "scale": true,
	"ps": true, "logs": true, "config": true, "images": true, "version": true,
	"top": true, "port": true, "stats": true,
	"image ls": true, "image inspect": true, "network ls": true, "network inspect": true,
	"volume ls": true, "volume inspect": true,
}

// checkDryRun refuses --dry-run for commands that cannot honour it yet,
// rather than letting them change the host.
func checkDryRun(g *globalOptions, c *cobra.Command) error {
	if !g.dryRun || !c.HasParent() {
		return nil
	}
	path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	if dryRunCommands[path] {
		return nil
	}
	return fmt.Errorf("--dry-run is not supported by %q yet: %w", "compose "+path, errdefs.ErrInvalidArgument)
}
