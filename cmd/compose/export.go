package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
)

func newExportCmd(g *globalOptions) *cobra.Command {
	o := engine.ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] SERVICE",
		Short: "Export a service container's filesystem as a tar archive",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			if o.Output == "" && isTerminal(o.Out) {
				return fmt.Errorf("output option is required when exporting to terminal: %w", errdefs.ErrInvalidArgument)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Service = args[0]
			return e.Export(cmd.Context(), name, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Index, "index", 0, "index of the container if service has multiple replicas.")
	f.StringVarP(&o.Output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}
