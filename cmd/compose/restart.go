package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newRestartCmd(g *globalOptions) *cobra.Command {
	var timeout int
	var noDeps bool
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] [SERVICE...]",
		Short: "Restart service containers",
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
			return e.Restart(cmd.Context(), name, p, engine.RestartOptions{Services: args, Timeout: timeoutFlag(cmd, timeout), NoDeps: noDeps})
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	cmd.Flags().BoolVar(&noDeps, "no-deps", false, "Don't restart dependent services")
	return cmd
}
