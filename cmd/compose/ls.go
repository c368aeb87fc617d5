package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
)

func newLsCmd(g *globalOptions) *cobra.Command {
	o := status.LsOptions{}
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			rows, err := e.Ls(cmd.Context(), o)
			if err != nil {
				return err
			}
			return status.PrintLs(cmd.OutOrStdout(), rows, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "Show all stopped Compose projects")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display project names")
	f.StringVar(&o.Format, "format", "table", "Format the output. Values: [table | json]")
	f.StringArrayVar(&o.Filters, "filter", nil, "Filter output based on conditions provided (name=VALUE, repeatable)")
	return cmd
}
