package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
)

func newPortCmd(g *globalOptions) *cobra.Command {
	o := engine.PortOptions{}
	cmd := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the public port for a port binding",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := strconv.ParseUint(args[1], 10, 16)
			if err != nil || port == 0 {
				return fmt.Errorf("private port %q: %w", args[1], errdefs.ErrInvalidArgument)
			}
			name, err := g.projectServices(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Service, o.Port, o.Out = args[0], uint16(port), cmd.OutOrStdout()
			return e.Port(cmd.Context(), name, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Protocol, "protocol", "tcp", "tcp or udp")
	f.IntVar(&o.Index, "index", 0, "Index of the container if service has multiple replicas")
	return cmd
}
