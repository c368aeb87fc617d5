package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/project"
)

type configOptions struct {
	format   string
	services bool
	volumes  bool
	quiet    bool
	output   string
}

func newConfigCmd(g *globalOptions) *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:     "config [OPTIONS] [SERVICE...]",
		Aliases: []string{"convert"},
		Short:   "Parse, resolve and render compose file in canonical format",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) > 0 {
				if err := project.SelectServices(p, args); err != nil {
					return err
				}
				if p, err = p.WithSelectedServices(args); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			switch {
			case o.quiet:
				return nil
			case o.services:
				for _, s := range p.ServiceNames() {
					fmt.Fprintln(out, s)
				}
				return nil
			case o.volumes:
				for _, v := range p.VolumeNames() {
					fmt.Fprintln(out, v)
				}
				return nil
			}
			data, err := project.Marshal(p, o.format)
			if err != nil {
				return err
			}
			if o.output != "" {
				return os.WriteFile(o.output, data, 0o644)
			}
			_, err = out.Write(data)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "yaml", "Format the output. Values: [yaml | json]")
	f.BoolVar(&o.services, "services", false, "Print the service names, one per line")
	f.BoolVar(&o.volumes, "volumes", false, "Print the volume names, one per line")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only validate the configuration, don't print anything")
	f.StringVarP(&o.output, "output", "o", "", "Save to file (default to stdout)")
	return cmd
}
