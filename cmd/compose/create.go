package main

import (
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

// newCreateCmd is `up --no-start` under Docker Compose's own name and flags.
func newCreateCmd(g *globalOptions) *cobra.Command {
	var conv convergeFlags
	var build buildFlags
	var pull string
	var quietPull, yes bool
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [SERVICE...]",
		Short: "Creates containers for a service",
		RunE: func(cmd *cobra.Command, args []string) error {
			bp, err := build.policy()
			if err != nil {
				return err
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			copts, err := conv.options(cmd.Flags(), p, false)
			if err != nil {
				return err
			}
			copts.NoStart, copts.AllResources = true, g.allResources
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.Up(cmd.Context(), p, engine.UpOptions{
				Services: args, Detach: true, Pull: pull, Build: bp, QuietPull: quietPull,
				AssumeYes: yes, Converge: copts, Out: cmd.OutOrStdout(),
			})
		},
	}
	f := cmd.Flags()
	build.add(f, true)
	f.StringVar(&pull, "pull", "policy", `Pull image before running ("always"|"missing"|"never"|"build")`)
	f.BoolVar(&quietPull, "quiet-pull", false, "Pull without printing progress information")
	f.BoolVar(&conv.opts.ForceRecreate, "force-recreate", false, "Recreate containers even if their configuration and image haven't changed")
	f.BoolVar(&conv.opts.NoRecreate, "no-recreate", false, "If containers already exist, don't recreate them. Incompatible with --force-recreate.")
	f.BoolVar(&conv.opts.RemoveOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.StringArrayVar(&conv.scale, "scale", nil, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.")
	f.BoolVarP(&yes, "yes", "y", false, `Assume "yes" as answer to all prompts and run non-interactively`)
	return cmd
}
