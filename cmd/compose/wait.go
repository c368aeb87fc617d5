package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
)

func newWaitCmd(g *globalOptions) *cobra.Command {
	var downProject bool
	cmd := &cobra.Command{
		Use:   "wait SERVICE [SERVICE...] [OPTIONS]",
		Short: "Block until containers of all (or specified) services stop.",
		Args:  cobra.MinimumNArgs(1),
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
			code, err := e.Wait(cmd.Context(), name, p, engine.WaitOptions{Services: args, DownProject: downProject, Out: cmd.OutOrStdout()})
			if err != nil {
				return err
			}
			return errdefs.Exit(code)
		},
	}
	cmd.Flags().BoolVar(&downProject, "down-project", false, "Drops project when the first container stops")
	return cmd
}
