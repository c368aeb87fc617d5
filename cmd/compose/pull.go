package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/progress"
	"github.com/composer-dev/compose/project"
)

func newPullCmd(g *globalOptions) *cobra.Command {
	o := engine.PullOptions{}
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			if quiet {
				g.progress = string(progress.ModeQuiet)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			if err := project.SelectServices(p, args); err != nil {
				return err
			}
			o.Services = args
			return e.Pull(cmd.Context(), p, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Pull without printing progress information")
	f.BoolVar(&o.IgnoreFailures, "ignore-pull-failures", false, "Pull what it can and ignores images with pull failures")
	f.BoolVar(&o.IncludeDeps, "include-deps", false, "Also pull services declared as dependencies")
	f.BoolVar(&o.IgnoreBuildable, "ignore-buildable", false, "Ignore images that can be built")
	f.StringVar(&o.Policy, "policy", "", `Apply pull policy ("missing"|"always")`)
	return cmd
}

func newPushCmd(g *globalOptions) *cobra.Command {
	o := engine.PushOptions{}
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			if quiet {
				g.progress = string(progress.ModeQuiet)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			if err := project.SelectServices(p, args); err != nil {
				return err
			}
			o.Services = args
			return e.Push(cmd.Context(), p, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Push without printing progress information")
	f.BoolVar(&o.IgnoreFailures, "ignore-push-failures", false, "Push what it can and ignores images with push failures")
	f.BoolVar(&o.IncludeDeps, "include-deps", false, "Also push images of services declared as dependencies")
	return cmd
}

func newImagesCmd(g *globalOptions) *cobra.Command {
	o := status.ImagesOptions{}
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List images used by the created containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			name, err := g.projectServices(cmd.Context(), args)
			if err != nil {
				return err
			}
			o.Services = args
			rows, err := e.ProjectImages(cmd.Context(), name, o)
			if err != nil {
				return err
			}
			return status.PrintImages(cmd.OutOrStdout(), rows, o)
		},
	}
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Only display IDs")
	cmd.Flags().StringVar(&o.Format, "format", "table", "Format the output. Values: [table | json]")
	return cmd
}
