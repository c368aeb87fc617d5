package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newVersionCmd() *cobra.Command {
	var short bool
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the compose version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch {
			case short:
				fmt.Fprintln(out, engine.Version)
			case format == "json":
				fmt.Fprintf(out, "{\"version\":%q}\n", "v"+engine.Version)
			default:
				fmt.Fprintf(out, "compose version v%s (embedded engine)\n", engine.Version)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "Shows only Compose's version number")
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format the output. Values: [pretty | json]")
	return cmd
}
