package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/logs"
)

func newLogsCmd(g *globalOptions) *cobra.Command {
	o := status.LogsOptions{}
	var tail, since, until string
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
			if o.Index > 0 && len(args) != 1 {
				return fmt.Errorf("--index requires one service to be selected: %w", errdefs.ErrInvalidArgument)
			}
			var err error
			now := time.Now()
			if o.Since, err = timeFlag("since", since, now); err != nil {
				return err
			}
			if o.Until, err = timeFlag("until", until, now); err != nil {
				return err
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
	f.IntVar(&o.Index, "index", 0, "index of the container if service has multiple replicas")
	f.StringVar(&since, "since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	f.StringVar(&until, "until", "", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	return cmd
}

// timeFlag parses --since or --until ("" is no bound), with the Docker
// client's message for a bad value.
func timeFlag(name, value string, now time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	t, err := logs.ParseTime(value, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid value for %q: %w", name, err)
	}
	return t, nil
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
