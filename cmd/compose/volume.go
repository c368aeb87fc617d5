package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/volumes"
)

func newVolumeCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "Manage the engine's volumes"}
	cmd.AddCommand(newVolumeCreateCmd(g), newVolumeLsCmd(g), newVolumeInspectCmd(g), newVolumeRmCmd(g), newVolumePruneCmd(g))
	return cmd
}

func newVolumeCreateCmd(g *globalOptions) *cobra.Command {
	var driver string
	var labels, opts []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := engine.VolumeCreateOptions{Driver: driver}
			if len(args) == 1 {
				o.Name = args[0]
			}
			var err error
			if o.Labels, err = engine.ParseKeyValues(labels, "--label"); err != nil {
				return err
			}
			if o.Options, err = engine.ParseKeyValues(opts, "--opt"); err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			v, err := e.VolumeCreate(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", volumes.Driver, "Specify volume driver name")
	f.StringArrayVar(&labels, "label", nil, "Set metadata for a volume")
	f.StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
	return cmd
}

func newVolumeLsCmd(g *globalOptions) *cobra.Command {
	var quiet bool
	var format string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			vols, err := e.VolumeList()
			if err != nil {
				return err
			}
			return printVolumes(cmd.OutOrStdout(), vols, quiet, format)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	cmd.Flags().StringVar(&format, "format", "table", "Format the output: table or json (one object per line)")
	return cmd
}

func printVolumes(w io.Writer, vols []*volumes.Volume, quiet bool, format string) error {
	switch {
	case quiet:
		for _, v := range vols {
			fmt.Fprintln(w, v.Name)
		}
	case format == "json":
		enc := json.NewEncoder(w)
		for _, v := range vols {
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
	case format == "table" || format == "":
		tw := tabwriter.NewWriter(w, 0, 0, 4, ' ', 0)
		fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
		for _, v := range vols {
			fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("--format %q: use table or json: %w", format, errdefs.ErrInvalidArgument)
	}
	return nil
}

func newVolumeInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			vols, err := e.VolumeInspect(args)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(vols, "", "    ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}

func newVolumeRmCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes (never one in use)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			if err := e.VolumeRemove(cmd.Context(), args, force); err != nil {
				return err
			}
			for _, n := range args {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not fail on missing volumes")
	return cmd
}

func newVolumePruneCmd(g *globalOptions) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused anonymous volumes (all unused with -a)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			removed, err := e.VolumePrune(cmd.Context(), all)
			if len(removed) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "Deleted Volumes:")
				for _, n := range removed {
					fmt.Fprintln(cmd.OutOrStdout(), n)
				}
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation (there is no prompt)")
	return cmd
}
