package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newCommitCmd(g *globalOptions) *cobra.Command {
	o := engine.CommitOptions{}
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] SERVICE [REPOSITORY[:TAG]]",
		Short: "Create a new image from a service container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Service = args[0]
			if len(args) > 1 {
				o.Reference = args[1]
			}
			_, err = e.Commit(cmd.Context(), name, o)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Index, "index", 0, "index of the container if service has multiple replicas.")
	f.BoolVarP(&o.Pause, "pause", "p", true, "Pause container during commit")
	f.StringVarP(&o.Comment, "message", "m", "", "Commit message")
	f.StringVarP(&o.Author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&o.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	return cmd
}
