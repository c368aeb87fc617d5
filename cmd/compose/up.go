package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

type upOptions struct {
	detach      bool
	quietBuild  bool
	quietPull   bool
	yes         bool
	timeout     int
	noColor     bool
	noLogPrefix bool
	timestamps  bool
	pull        string
	attach      engine.UpAttach
	waitTimeout int
	menu        bool
	converge    convergeFlags
	build       buildFlags
}

func newUpCmd(g *globalOptions) *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkMenu(cmd.Flags(), o.menu, o.detach || o.attach.Wait); err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.loadFor(cmd.Context(), args)
			if err != nil {
				return err
			}
			conv, err := o.converge.options(cmd.Flags(), p, true)
			if err != nil {
				return err
			}
			conv.AllResources = g.allResources
			opts := engine.UpOptions{Converge: conv,
				Services: args, Detach: o.detach, NoColor: o.noColor || !g.colors(cmd.OutOrStdout()),
				NoLogPrefix: o.noLogPrefix, Timestamps: o.timestamps, Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr(), Pull: o.pull,
				QuietBuild: o.quietBuild, QuietPull: o.quietPull, AssumeYes: o.yes,
			}
			if opts.Build, err = o.build.policy(); err != nil {
				return err
			}
			opts.UpAttach = o.attach
			opts.WaitTimeout = time.Duration(o.waitTimeout) * time.Second
			if cmd.Flags().Changed("timeout") {
				d := time.Duration(o.timeout) * time.Second
				opts.Timeout = &d
			}
			if !o.detach && !o.attach.Wait {
				sigs := make(chan os.Signal, 2)
				signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
				defer signal.Stop(sigs)
				opts.Interrupts = sigs
			}
			return e.Up(cmd.Context(), p, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: Run containers in the background")
	f.IntVarP(&o.timeout, "timeout", "t", 10, "Use this timeout in seconds for container shutdown when attached or when containers are already running")
	f.BoolVar(&o.noColor, "no-color", false, "Produce monochrome output")
	f.BoolVar(&o.noLogPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	f.BoolVar(&o.timestamps, "timestamps", false, "Show timestamps")
	f.StringVar(&o.pull, "pull", "policy", `Pull image before running ("always"|"missing"|"never")`)
	f.BoolVar(&o.attach.Wait, "wait", false, "Wait for services to be running|healthy. Implies detached mode.")
	f.IntVar(&o.waitTimeout, "wait-timeout", 0, "Maximum duration in seconds to wait for the project to be running|healthy")
	f.BoolVar(&o.attach.AbortOnExit, "abort-on-container-exit", false, "Stops all containers if any container was stopped. Incompatible with -d")
	f.BoolVar(&o.attach.AbortOnFailure, "abort-on-container-failure", false, "Stops all containers if any container exited with failure. Incompatible with -d")
	f.StringVar(&o.attach.ExitCodeFrom, "exit-code-from", "", "Return the exit code of the selected service container. Implies --abort-on-container-exit")
	f.StringArrayVar(&o.attach.Attach, "attach", nil, "Restrict attaching to the specified services. Incompatible with --attach-dependencies.")
	f.StringArrayVar(&o.attach.NoAttach, "no-attach", nil, "Do not attach (stream logs) to the specified services")
	f.BoolVar(&o.attach.AttachDependencies, "attach-dependencies", false, "Automatically attach to log output of dependent services")
	f.BoolVar(&o.quietBuild, "quiet-build", false, "Suppress the build output")
	f.BoolVar(&o.quietPull, "quiet-pull", false, "Pull without printing progress information")
	f.BoolVarP(&o.yes, "yes", "y", false, `Assume "yes" as answer to all prompts and run non-interactively`)
	f.BoolVarP(&o.attach.Watch, "watch", "w", false, "Watch source code and rebuild/refresh containers when files are updated.")
	f.BoolVar(&o.menu, "menu", false, "Enable interactive shortcuts when running attached. Incompatible with --detach. Can also be enable/disable by setting COMPOSE_MENU environment var.")
	o.converge.add(f)
	o.build.add(f, true)
	return cmd
}
