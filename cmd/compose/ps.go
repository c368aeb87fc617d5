package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newPsCmd(g *globalOptions) *cobra.Command {
	o := engine.PsOptions{}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
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
			return e.Ps(cmd.Context(), name, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "Show all stopped containers (including those created by the run command)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display IDs")
	f.StringVar(&o.Format, "format", "table", "Format the output. Values: [table | json]")
	return cmd
}
