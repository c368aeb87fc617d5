package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
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
	// Docker Compose keeps build's own --progress, hidden: it sets the
	// global one (cmd/compose/build.go).
	f.StringVar(&g.progress, "progress", g.progress, "Set type of ui output (auto, tty, plain, json, quiet)")
	_ = f.MarkHidden("progress")
	return cmd
}

// buildFlags are the --build and --no-build flags of `up` and `run`.
type buildFlags struct{ build, noBuild bool }

func (b *buildFlags) add(f *pflag.FlagSet, noBuild bool) {
	f.BoolVar(&b.build, "build", false, "Build images before starting containers")
	if noBuild {
		f.BoolVar(&b.noBuild, "no-build", false, "Don't build an image, even if it's policy")
	}
}

func (b buildFlags) policy() (engine.BuildPolicy, error) {
	switch {
	case b.build && b.noBuild:
		return "", fmt.Errorf("--build and --no-build are incompatible: %w", errdefs.ErrInvalidArgument)
	case b.build:
		return engine.BuildAlways, nil
	case b.noBuild:
		return engine.BuildNever, nil
	}
	return engine.BuildMissing, nil
}
