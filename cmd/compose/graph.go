package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/diagram"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/project"
)

func newGraphCmd(g *globalOptions) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "graph [OPTIONS] [SERVICE...]",
		Short: "Draw the project's services, networks and volumes, coloured by their state when it runs",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) > 0 {
				if err := project.SelectServices(p, args); err != nil {
					return err
				}
				// Named services of a profile not enabled are drawn, as `up` runs them.
				if p, err = p.WithServicesEnabled(args...); err != nil {
					return err
				}
			}
			states, err := g.serviceStates(cmd.Context(), p.Name)
			if err != nil {
				return err
			}
			d, err := diagram.New(p, diagram.Options{Services: args, States: states})
			if err != nil {
				return err
			}
			data, err := d.Render(format)
			if err != nil {
				return err
			}
			if output != "" {
				return store.WriteFile(output, data, 0o644)
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "dot", "Format of the picture: dot (Graphviz), mermaid (a flowchart) or svg")
	f.StringVarP(&output, "output", "o", "", "Write the picture to this file (atomically) instead of stdout")
	return cmd
}

// serviceStates reads the state of the project's containers, folded by
// service, for the picture's colours. It is nil (the plain picture) when
// there is nothing to read: no container of the project, no state root,
// or not root (the engine's state is root's).
func (g *globalOptions) serviceStates(ctx context.Context, projectName string) (map[string]diagram.State, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	// Look before opening the engine, which would create the state root.
	if _, err := os.Stat((&record.Store{Root: g.root}).ContainersDir()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	e, err := g.engine()
	if err != nil {
		return nil, err
	}
	rows, err := e.Ps(ctx, projectName, status.PsOptions{All: true})
	if err != nil {
		return nil, err
	}
	var cs []diagram.Container
	for _, r := range rows {
		if strings.Contains(","+r.Labels+",", ","+record.LabelOneoff+"=True,") {
			continue // `run` containers are not the service's
		}
		cs = append(cs, diagram.Container{Service: r.Service, State: r.State, Health: r.Health, ExitCode: r.ExitCode})
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return diagram.States(cs), nil
}
