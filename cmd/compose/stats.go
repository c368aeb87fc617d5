package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
)

func newStatsCmd(g *globalOptions) *cobra.Command {
	var o status.StatsOptions
	var all, noTrunc bool
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [SERVICE]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Services = args
			return status.PrintStats(cmd.OutOrStdout(), e.Stats(cmd.Context(), name, o), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.NoStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	f.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	f.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	return cmd
}
