package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/project"
)

// printVariables is `config --variables`: the variables the files
// interpolate, with their defaults, from the model before interpolation,
// as Docker Compose lists them: a table (NAME, REQUIRED, DEFAULT VALUE,
// ALTERNATE VALUE) unless --format json or yaml is given.
func printVariables(cmd *cobra.Command, lo project.Options, services []string, format string) error {
	if len(services) > 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARN[0000] service filtering is not applied when --variables is set, variables from the full model will be rendered")
	}
	lo.NoInterpolate, lo.NoEnvResolution = true, true
	m, err := project.LoadModel(cmd.Context(), lo)
	if err != nil {
		return err
	}
	vars := template.ExtractVariables(m, template.DefaultPattern)
	out := cmd.OutOrStdout()
	switch strings.ToLower(format) {
	case "yaml":
		data, err := yaml.Marshal(vars)
		if err != nil {
			return err
		}
		_, err = out.Write(data)
		return err
	case "json":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(vars); err != nil {
			return err
		}
		_, err := fmt.Fprintln(out) // Docker Compose's formatter.Print adds a line
		return err
	case "", "pretty":
		return variablesTable(out, vars)
	}
	return fmt.Errorf("format value %q could not be parsed: %w", format, errdefs.ErrInvalidArgument)
}

// variablesTable is Docker Compose's PrintPrettySection: columns at least
// 20 wide, 3 spaces apart; rows sorted by name (Docker's follow a map's order).
func variablesTable(out io.Writer, vars map[string]template.Variable) error {
	w := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE")
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		fmt.Fprintf(w, "%s\t%t\t%s\t%s\n", name, v.Required, v.DefaultValue, v.PresenceValue)
	}
	return w.Flush()
}

// imagesOnly keeps of the project only what `config --lock-image-digests`
// pins: each service's image and its `type: image` volumes.
func imagesOnly(p *types.Project) *types.Project {
	services := types.Services{}
	for name, svc := range p.Services {
		locked := types.ServiceConfig{Name: name}
		locked.Image = svc.Image
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeImage {
				locked.Volumes = append(locked.Volumes, v)
			}
		}
		services[name] = locked
	}
	return &types.Project{Services: services}
}

// lockModel is imagesOnly on the model of `config --no-interpolate`.
func lockModel(m map[string]any) {
	for key := range m {
		if key != "services" {
			delete(m, key)
		}
	}
	services, _ := m["services"].(map[string]any)
	for _, s := range services {
		svc, ok := s.(map[string]any)
		if !ok {
			continue
		}
		for key := range svc {
			switch key {
			case "image":
			case "volumes":
				vols, _ := svc[key].([]any)
				vols = slices.DeleteFunc(slices.Clone(vols), func(v any) bool {
					vm, ok := v.(map[string]any)
					return !ok || vm["type"] != types.VolumeTypeImage
				})
				if len(vols) == 0 {
					delete(svc, key)
				} else {
					svc[key] = vols
				}
			default:
				delete(svc, key)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
