package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newWatchCmd(g *globalOptions) *cobra.Command {
	o := engine.WatchOptions{}
	cmd := &cobra.Command{
		Use:   "watch [SERVICE...]",
		Short: "Watch build context for service and rebuild/refresh containers when files are updated",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			o.Services = args
			o.Out = cmd.OutOrStdout()
			if err := e.Watch(cmd.Context(), p, o); err != nil {
				return err
			}
			return cmd.Context().Err() // Ctrl-C ends the watch: exit 130
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Quiet, "quiet", false, "hide build output")
	f.BoolVar(&o.Prune, "prune", true, "Prune dangling images on rebuild")
	f.BoolVar(&o.NoUp, "no-up", false, "Do not build & start services before watching")
	return cmd
}
