package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newDownCmd(g *globalOptions) *cobra.Command {
	var timeout int
	var volumes, removeOrphans bool
	var rmi string
	cmd := &cobra.Command{
		Use:   "down [OPTIONS] [SERVICES]",
		Short: "Stop and remove containers, networks",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, p, err := g.projectName(cmd.Context())
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("remove-orphans") && p != nil {
				removeOrphans = projectEnvBool(p, "COMPOSE_REMOVE_ORPHANS") // the .env's counts too
			}
			opts := engine.DownOptions{Volumes: volumes, RemoveOrphans: removeOrphans, Images: rmi, Services: args}
			if cmd.Flags().Changed("timeout") {
				d := time.Duration(timeout) * time.Second
				opts.Timeout = &d
			}
			return e.Down(cmd.Context(), name, p, opts)
		},
	}
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
	// Docker Compose reads COMPOSE_REMOVE_ORPHANS as the flag's default.
	cmd.Flags().BoolVar(&removeOrphans, "remove-orphans", envBool("COMPOSE_REMOVE_ORPHANS"), "Remove containers for services not defined in the Compose file")
	cmd.Flags().StringVar(&rmi, "rmi", "", `Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")`)
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	return cmd
}
