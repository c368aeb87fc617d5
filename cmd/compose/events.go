package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/errdefs"
)

func newEventsCmd(g *globalOptions) *cobra.Command {
	o := status.EventsOptions{}
	var since, until string
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
			if since != "" {
				return fmt.Errorf("--since: the embedded engine keeps no past events, only --until is supported: %w", errdefs.ErrInvalidArgument)
			}
			if until != "" {
				if o.Until, err = status.ParseEventTime(until); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			return status.PrintEvents(cmd.OutOrStdout(), e.Events(cmd.Context(), name, o), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "Output events as a stream of json objects")
	cmd.Flags().StringVar(&since, "since", "", "Show all events created since timestamp (past events are not kept: refused)")
	cmd.Flags().StringVar(&until, "until", "", "Stream events until this timestamp")
	return cmd
}
