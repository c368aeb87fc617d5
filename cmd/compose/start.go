package main

import (
	"time"

	"github.com/spf13/cobra"
)

func newStartCmd(g *globalOptions) *cobra.Command {
	var wait bool
	var waitTimeout int
	cmd := &cobra.Command{
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
			if err := e.Start(cmd.Context(), name, p, args); err != nil || !wait {
				return err
			}
			return e.WaitStarted(cmd.Context(), name, p, args, time.Duration(waitTimeout)*time.Second)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "Wait for services to be running|healthy. Implies detached mode.")
	cmd.Flags().IntVar(&waitTimeout, "wait-timeout", 0, "Maximum duration in seconds to wait for the project to be running|healthy")
	return cmd
}
