package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/project"
)

func newPsCmd(g *globalOptions) *cobra.Command {
	o := status.PsOptions{}
	var filter string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, p, err := g.projectName(cmd.Context())
			if err != nil {
				return err
			}
			if p != nil {
				if err := project.SelectServices(p, args); err != nil {
					return err
				}
				o.Known = project.DeclaredServices(p)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Services = args
			if filter != "" {
				o.Filters = []string{filter}
			}
			rows, err := e.Ps(cmd.Context(), name, o)
			if err != nil {
				return err
			}
			return status.PrintPs(cmd.OutOrStdout(), rows, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "Show all stopped containers (including those created by the run command)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display IDs")
	f.StringVar(&o.Format, "format", "table", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.BoolVar(&o.ServicesOnly, "services", false, "Display services")
	f.StringArrayVar(&o.Status, "status", nil, "Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]")
	f.StringVar(&filter, "filter", "", "Filter services by a property (supported filters: status)")
	f.BoolVar(&o.NoTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVar(&o.Orphans, "orphans", true, "Include orphaned services (not declared by project)")
	return cmd
}
