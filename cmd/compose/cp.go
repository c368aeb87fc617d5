package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newCpCmd(g *globalOptions) *cobra.Command {
	var o engine.CpOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tcompose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Short: "Copy files/folders between a service container and the local filesystem",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, _, err := g.projectName(cmd.Context())
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Source, o.Dest = args[0], args[1]
			return e.Cp(cmd.Context(), name, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Index, "index", 0, "Index of the container if service has multiple replicas")
	f.BoolVar(&o.All, "all", false, "Include containers created by the run command")
	_ = f.MarkHidden("all")
	f.BoolVarP(&o.Archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return cmd
}
