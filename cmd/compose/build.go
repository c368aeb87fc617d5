package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/progress"
	"github.com/composer-dev/compose/project"
)

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := engine.BuildOptions{}
	var push bool
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Quiet {
				g.progress = string(progress.ModeQuiet)
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			if err := project.SelectServices(p, args); err != nil {
				return err
			}
			o.Services = args
			if o.Print { // no engine (nor root) needed to print the plan
				o.Out = cmd.OutOrStdout()
				return (&engine.Engine{}).Build(cmd.Context(), p, o)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			if err := e.Build(cmd.Context(), p, o); err != nil || !push {
				return err
			}
			return e.Push(cmd.Context(), p, engine.PushOptions{Services: args})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.NoCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.Pull, "pull", false, "Always attempt to pull a newer version of the image")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Don't print anything to STDOUT")
	f.StringArrayVar(&o.Args, "build-arg", nil, "Set build-time variables for services")
	f.BoolVar(&o.WithDeps, "with-dependencies", false, "Also build dependencies (transitively)")
	f.BoolVar(&o.Print, "print", false, "Print equivalent bake file")
	f.BoolVar(&push, "push", false, "Push service images")
	return cmd
}

// withBuild gives `up` and `run` their --build and --no-build flags (unless
// the command defines them already) and passes the choice to the engine in
// the command's context.
func withBuild(cmd *cobra.Command) *cobra.Command {
	f := cmd.Flags()
	if f.Lookup("build") == nil {
		f.Bool("build", false, "Build images before starting containers")
	}
	if f.Lookup("no-build") == nil && cmd.Name() == "up" {
		f.Bool("no-build", false, "Don't build an image, even if it's policy")
	}
	runE := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		policy := engine.BuildMissing
		if b, _ := cmd.Flags().GetBool("build"); b {
			policy = engine.BuildAlways
		}
		if nb, err := cmd.Flags().GetBool("no-build"); err == nil && nb {
			policy = engine.BuildNever
		}
		cmd.SetContext(engine.WithBuildPolicy(cmd.Context(), policy))
		return runE(cmd, args)
	}
	return cmd
}
