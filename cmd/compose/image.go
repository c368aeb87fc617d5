package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
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
			return e.LoadImages(cmd.Context(), r, cmd.OutOrStdout())
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
			return e.ListImages(cmd.Context(), quiet, cmd.OutOrStdout())
		},
	}
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	cmd.AddCommand(load, ls)
	return cmd
}
