package main

import (
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine/status"
)

func newImageCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Manage the engine's images"}
	var input string
	load := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive (docker save or OCI) or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var r io.Reader = cmd.InOrStdin()
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			names, err := e.LoadImages(cmd.Context(), r)
			status.PrintLoaded(cmd.OutOrStdout(), names)
			return err
		},
	}
	load.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	var quiet bool
	ls := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			rows, err := e.ListImages(cmd.Context())
			if err != nil {
				return err
			}
			return status.PrintImageList(cmd.OutOrStdout(), rows, quiet, time.Now())
		},
	}
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	cmd.AddCommand(load, ls, newImagePushCmd(g), newImageRmCmd(g), newImageTagCmd(g),
		newImageInspectCmd(g), newImageSaveCmd(g), newImagePruneCmd(g))
	return cmd
}

func newImagePushCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "push NAME[:TAG]",
		Short: "Push an image of the store to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.PushImage(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
}

func newImageRmCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] IMAGE [IMAGE...]",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove one or more images",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			done, err := e.RemoveImages(cmd.Context(), args, force)
			status.PrintImageRemoval(cmd.OutOrStdout(), done)
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	return cmd
}

func newImageTagCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.TagImage(cmd.Context(), args[0], args[1])
		},
	}
}

func newImageInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			infos, err := e.InspectImages(cmd.Context(), args)
			if perr := status.PrintInspect(cmd.OutOrStdout(), infos); perr != nil {
				return perr
			}
			return err
		},
	}
}

func newImageSaveCmd(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && isTerminal(cmd.OutOrStdout()) {
				return errCannotWriteTerminal
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.SaveImages(cmd.Context(), args, output, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

func newImagePruneCmd(g *globalOptions) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images and the layers only they used",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			deleted, reclaimed, err := e.PruneImages(cmd.Context(), all)
			if err != nil {
				return err
			}
			status.PrintImagePrune(cmd.OutOrStdout(), deleted, reclaimed)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation (compose never prompts here)")
	return cmd
}
