package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
)

func newTopCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICES...]",
		Short: "Display the running processes",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			rows, err := e.Top(cmd.Context(), name, status.TopOptions{Services: args})
			if err != nil {
				return err
			}
			return status.PrintTop(cmd.OutOrStdout(), rows)
		},
	}
}
