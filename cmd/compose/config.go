package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/project"
)

type configOptions struct {
	format         string
	services       bool
	volumes        bool
	networks       bool
	profiles       bool
	images         bool
	environment    bool
	hash           string
	quiet          bool
	output         string
	noInterpolate  bool
	noConsistency  bool
	noNormalize    bool
	noResolvePaths bool
	resolveDigests bool
	lockDigests    bool
	noEnvResolve   bool
	variables      bool
	models         bool
}

func newConfigCmd(g *globalOptions) *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:     "config [OPTIONS] [SERVICE...]",
		Aliases: []string{"convert"},
		Short:   "Parse, resolve and render compose file in canonical format",
		RunE: func(cmd *cobra.Command, args []string) error {
			lo := g.loadOptions()
			lo.NoConsistency, lo.NoNormalize, lo.NoResolvePaths = o.noConsistency, o.noNormalize, o.noResolvePaths
			lo.NoEnvResolution = o.noEnvResolve
			if g.compat() { // as Docker Compose: the model as written, v1 style
				lo.NoNormalize = true
			}
			if o.lockDigests {
				o.resolveDigests = true
			}
			if o.variables {
				format := ""
				if cmd.Flags().Changed("format") {
					format = o.format
				}
				return printVariables(cmd, lo, args, format)
			}
			if o.noInterpolate && !o.quiet {
				lo.NoInterpolate = true
				m, err := project.LoadModel(cmd.Context(), lo)
				if err != nil {
					return err
				}
				if o.lockDigests {
					if err := engine.ResolveModelDigests(cmd.Context(), m); err != nil {
						return err
					}
					lockModel(m)
				}
				data, err := project.MarshalModel(m, o.format)
				if err != nil {
					return err
				}
				return writeConfig(cmd, o.output, data)
			}
			p, err := project.Load(cmd.Context(), lo)
			if err != nil {
				return err
			}
			if o.profiles { // every profile the files declare, enabled or not
				return printLines(cmd, profilesOf(p))
			}
			if len(args) > 0 {
				if err := project.SelectServices(p, args); err != nil {
					return err
				}
				if p, err = p.WithSelectedServices(args); err != nil {
					return err
				}
			}
			if !o.noConsistency {
				if err := project.CheckContainerNames(p, nil); err != nil {
					return err
				}
			}
			switch {
			case o.quiet:
				return nil
			case o.services:
				return printLines(cmd, p.ServiceNames())
			case o.volumes:
				return printLines(cmd, p.VolumeNames())
			case o.networks:
				return printLines(cmd, p.NetworkNames())
			case o.models:
				var names []string
				for _, k := range sortedKeys(p.Models) {
					if m := p.Models[k].Model; m != "" {
						names = append(names, m)
					}
				}
				return printLines(cmd, names)
			case o.images:
				var names []string
				for _, name := range p.ServiceNames() {
					names = append(names, engine.ImageName(p, p.Services[name]))
				}
				return printLines(cmd, names)
			case o.environment:
				var lines []string
				for k, v := range p.Environment {
					lines = append(lines, k+"="+v)
				}
				sort.Strings(lines)
				return printLines(cmd, lines)
			case o.hash != "":
				return printHashes(cmd, p, o.hash)
			}
			if o.resolveDigests {
				if p, err = engine.ResolveImageDigests(cmd.Context(), p); err != nil {
					return err
				}
			}
			if o.lockDigests {
				p = imagesOnly(p)
			}
			data, err := project.Marshal(p, o.format)
			if err != nil {
				return err
			}
			return writeConfig(cmd, o.output, data)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "yaml", "Format the output. Values: [yaml | json]")
	f.BoolVar(&o.services, "services", false, "Print the service names, one per line")
	f.BoolVar(&o.volumes, "volumes", false, "Print the volume names, one per line")
	f.BoolVar(&o.networks, "networks", false, "Print the network names, one per line")
	f.BoolVar(&o.profiles, "profiles", false, "Print the profile names, one per line")
	f.BoolVar(&o.images, "images", false, "Print the image names, one per line")
	f.BoolVar(&o.environment, "environment", false, "Print environment used for interpolation")
	f.StringVar(&o.hash, "hash", "", `Print the service config hash, one per line ("*" for all services, or a comma-separated list)`)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only validate the configuration, don't print anything")
	f.StringVarP(&o.output, "output", "o", "", "Save to file (default to stdout)")
	f.BoolVar(&o.noInterpolate, "no-interpolate", false, "Don't interpolate environment variables")
	f.BoolVar(&o.noConsistency, "no-consistency", false, "Don't check model consistency - warning: may produce invalid Compose output")
	f.BoolVar(&o.noNormalize, "no-normalize", false, "Don't normalize compose model")
	f.BoolVar(&o.noResolvePaths, "no-path-resolution", false, "Don't resolve file paths")
	f.BoolVar(&o.resolveDigests, "resolve-image-digests", false, "Pin image tags to digests")
	f.BoolVar(&o.lockDigests, "lock-image-digests", false, "Produces an override file with image digests")
	f.BoolVar(&o.noEnvResolve, "no-env-resolution", false, "Don't resolve service env files")
	f.BoolVar(&o.variables, "variables", false, "Print model variables and default values.")
	f.BoolVar(&o.models, "models", false, "Print the model names, one per line.")
	return cmd
}

func writeConfig(cmd *cobra.Command, output string, data []byte) error {
	if output != "" {
		return os.WriteFile(output, data, 0o644)
	}
	_, err := cmd.OutOrStdout().Write(data)
	return err
}

func printLines(cmd *cobra.Command, lines []string) error {
	out := cmd.OutOrStdout()
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return nil
}

// profilesOf lists the profiles of every service, those of disabled services included, sorted.
func profilesOf(p *types.Project) []string {
	var out []string
	add := func(s types.ServiceConfig) {
		for _, pr := range s.Profiles {
			if !slices.Contains(out, pr) {
				out = append(out, pr)
			}
		}
	}
	for _, s := range p.Services {
		add(s)
	}
	for _, s := range p.DisabledServices {
		add(s)
	}
	sort.Strings(out)
	return out
}

// printHashes prints "<service> <config hash>" for "*" (all services) or
// the comma-separated services in which.
func printHashes(cmd *cobra.Command, p *types.Project, which string) error {
	names := p.ServiceNames()
	if which != "*" {
		names = strings.Split(which, ",")
	}
	for _, n := range names {
		s, ok := p.Services[n]
		if !ok {
			return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("--hash: no such service: %s", n))
		}
		h, err := project.ConfigHash(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", n, h)
	}
	return nil
}
