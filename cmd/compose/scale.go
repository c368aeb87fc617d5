package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newScaleCmd(g *globalOptions) *cobra.Command {
	var noDeps bool
	cmd := &cobra.Command{
		Use:   "scale [SERVICE=REPLICAS...]",
		Short: "Scale services",
		RunE: func(cmd *cobra.Command, args []string) error {
			replicas, err := parseScale(args, "scale")
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			return e.Scale(cmd.Context(), p, engine.ScaleOptions{Replicas: replicas, NoDeps: noDeps})
		},
	}
	cmd.Flags().BoolVar(&noDeps, "no-deps", false, "Don't start linked services")
	return cmd
}
