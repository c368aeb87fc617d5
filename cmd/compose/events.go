package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newEventsCmd(g *globalOptions) *cobra.Command {
	o := engine.EventsOptions{}
	cmd := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Receive real time events from containers",
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
			return e.Events(cmd.Context(), name, o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "Output events as a stream of json objects")
	return cmd
}
