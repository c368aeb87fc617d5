package main

import (
	"time"

	"github.com/spf13/cobra"
)

func newStopCmd(g *globalOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] [SERVICE...]",
		Short: "Stop services",
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
			return e.Stop(cmd.Context(), name, p, args, timeoutFlag(cmd, timeout))
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	return cmd
}

// timeoutFlag is -t as a duration, nil when not given (the service's own
// stop_grace_period then applies).
func timeoutFlag(cmd *cobra.Command, seconds int) *time.Duration {
	if !cmd.Flags().Changed("timeout") {
		return nil
	}
	d := time.Duration(seconds) * time.Second
	return &d
}
