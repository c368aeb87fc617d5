package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/errdefs"
)

func newLogsCmd(g *globalOptions) *cobra.Command {
	o := status.LogsOptions{}
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tail = -1
			if tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return &flagError{flag: "--tail", value: tail, err: errdefs.ErrInvalidArgument}
				}
				o.Tail = n
			}
			name, err := g.projectServices(cmd.Context(), args)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Services = args
			o.Out, o.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.NoColor = o.NoColor || !g.colors(o.Out)
			return e.Logs(cmd.Context(), name, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs for each container")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&o.NoColor, "no-color", false, "Produce monochrome output")
	f.BoolVar(&o.NoLogPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	return cmd
}

// flagError names the flag and value at fault.
type flagError struct {
	flag, value string
	err         error
}

func (e *flagError) Error() string {
	return "invalid value " + strconv.Quote(e.value) + " for flag " + e.flag
}
func (e *flagError) Unwrap() error { return e.err }
