package main

import (
	"context"

	"github.com/spf13/cobra"
)

func newPauseCmd(g *globalOptions) *cobra.Command {
	return freezeCmd(g, "pause [SERVICE...]", "Pause services", func(ctx context.Context, name string, args []string) error {
		e, err := g.engine()
		if err != nil {
			return err
		}
		return e.Pause(ctx, name, args)
	})
}

func newUnpauseCmd(g *globalOptions) *cobra.Command {
	return freezeCmd(g, "unpause [SERVICE...]", "Unpause services", func(ctx context.Context, name string, args []string) error {
		e, err := g.engine()
		if err != nil {
			return err
		}
		return e.Unpause(ctx, name, args)
	})
}

func freezeCmd(g *globalOptions, use, short string, run func(ctx context.Context, name string, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args)
			if err != nil {
				return err
			}
			return run(cmd.Context(), name, args)
		},
	}
}
