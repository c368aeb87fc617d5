package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/project"
)

func newPublishCmd(g *globalOptions) *cobra.Command {
	o := engine.PublishOptions{}
	var yes bool
	cmd := &cobra.Command{
		Use:   "publish [OPTIONS] REPOSITORY[:TAG]",
		Short: "Publish compose application",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// env_file entries stay as declared: they are published as such.
			lo := g.loadOptions()
			lo.NoEnvResolution = true
			p, err := project.Load(cmd.Context(), lo)
			if err != nil {
				return err
			}
			// As Docker Compose: every profile's services are published.
			if p, err = p.WithProfiles([]string{"*"}); err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			o.Repository = args[0]
			if !yes {
				o.Confirm = ask
			}
			return e.Publish(cmd.Context(), p, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.ResolveImageDigests, "resolve-image-digests", false, "Pin image tags to digests")
	f.StringVar(&o.OCIVersion, "oci-version", "", "OCI image/artifact specification version (automatically determined by default)")
	f.BoolVar(&o.WithEnv, "with-env", false, "Include environment variables in the published OCI artifact")
	f.BoolVarP(&yes, "yes", "y", false, `Assume "yes" as answer to all prompts`)
	return cmd
}

// ask puts a yes/no question on stdout and reads the answer from stdin;
// no answer (end of input) is no, as the question's default.
func ask(msg string) (bool, error) {
	fmt.Fprintf(os.Stdout, "? %s [y/N] ", msg)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Fprintln(os.Stdout)
	if err != nil && line == "" {
		return false, nil
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
