package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/engine/status"
)

// newNetworkCmd is `compose network` with Docker's ls/inspect/create/rm/prune.
func newNetworkCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "network COMMAND", Short: "Manage networks"}
	cmd.AddCommand(newNetworkLsCmd(g), newNetworkInspectCmd(g), newNetworkCreateCmd(g), newNetworkRmCmd(g), newNetworkPruneCmd(g))
	return cmd
}

func newNetworkLsCmd(g *globalOptions) *cobra.Command {
	o := engine.NetworkListOptions{}
	cmd := &cobra.Command{
		Use: "ls [OPTIONS]", Aliases: []string{"list"}, Short: "List networks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			return e.NetworkList(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&o.NoTrunc, "no-trunc", false, "Do not truncate the output")
	f.StringVar(&o.Format, "format", "table", "Format the output. Values: [table | json]")
	return cmd
}

func newNetworkInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use: "inspect NETWORK [NETWORK...]", Short: "Display detailed information on one or more networks", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			docs, err := e.NetworkInspect(cmd.Context(), args)
			if err != nil {
				return err
			}
			return status.PrintInspect(cmd.OutOrStdout(), docs)
		},
	}
}

func newNetworkCreateCmd(g *globalOptions) *cobra.Command {
	o := engine.NetworkCreateOptions{}
	cmd := &cobra.Command{
		Use: "create [OPTIONS] NETWORK", Short: "Create a network", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			return e.NetworkCreate(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringVar(&o.Subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	f.StringVar(&o.Gateway, "gateway", "", "IPv4 Gateway for the master subnet")
	f.StringVar(&o.IPRange, "ip-range", "", "Allocate container ip from a sub-range")
	f.StringArrayVar(&o.AuxAddress, "aux-address", nil, "Auxiliary IPv4 addresses used by Network driver")
	f.BoolVar(&o.Internal, "internal", false, "Restrict external access to the network")
	f.BoolVar(&o.Attachable, "attachable", false, "Enable manual container attachment")
	f.BoolVar(&o.IPv6, "ipv6", false, "Enable IPv6 networking")
	f.StringArrayVar(&o.Labels, "label", nil, "Set metadata on a network")
	f.StringToStringVarP(&o.Opts, "opt", "o", nil, "Set driver specific options")
	return cmd
}

func newNetworkRmCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use: "rm NETWORK [NETWORK...]", Aliases: []string{"remove"}, Short: "Remove one or more networks", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			removed, err := e.NetworkRemove(cmd.Context(), args)
			for _, n := range removed {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return err
		},
	}
}

func newNetworkPruneCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use: "prune [OPTIONS]", Short: "Remove all unused networks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			if !force && !status.Confirm(cmd.InOrStdin(), cmd.OutOrStdout(), "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?") {
				return nil
			}
			removed, err := e.NetworkPrune(cmd.Context())
			status.PrintNetworkPrune(cmd.OutOrStdout(), removed)
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}
