package main

import "github.com/spf13/cobra"

func newStartCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start services",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, p, err := g.projectName(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := g.projectServices(cmd.Context(), args); err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.Start(cmd.Context(), name, p, args)
		},
	}
}
