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
	timeout     int
	noColor     bool
	noLogPrefix bool
	timestamps  bool
	pull        string
	converge    convergeFlags
}

func newUpCmd(g *globalOptions) *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			conv, err := o.converge.options()
			if err != nil {
				return err
			}
			opts := engine.UpOptions{Converge: conv,
				Services: args, Detach: o.detach, NoColor: o.noColor || g.noColor(),
				NoLogPrefix: o.noLogPrefix, Timestamps: o.timestamps, Out: cmd.OutOrStdout(), Pull: o.pull,
			}
			if cmd.Flags().Changed("timeout") {
				d := time.Duration(o.timeout) * time.Second
				opts.Timeout = &d
			}
			if !o.detach {
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
	o.converge.add(f)
	return cmd
}
