package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newDownCmd(g *globalOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove containers, networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, p, err := g.projectName(cmd.Context())
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			var opts engine.DownOptions
			if cmd.Flags().Changed("timeout") {
				d := time.Duration(timeout) * time.Second
				opts.Timeout = &d
			}
			return e.Down(cmd.Context(), name, p, opts)
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	return cmd
}
