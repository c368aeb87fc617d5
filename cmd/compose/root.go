package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
	"github.com/composer-dev/compose/project"
)

// globalOptions are Docker Compose's top-level flags plus --root.
type globalOptions struct {
	files      []string
	name       string
	projectDir string
	envFiles   []string
	profiles   []string
	root       string
	progress   string
	ansi       string
	dryRun     bool
}

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	cmd := &cobra.Command{
		Use:           "compose [OPTIONS] COMMAND",
		Short:         "Define and run multi-container applications, with the container engine embedded",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Global flags go before the command, as with Docker Compose; that
		// leaves -f free to mean --follow in `logs -f`.
		TraverseChildren: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command: %q (see 'compose --help'): %w", args[0], errdefs.ErrInvalidArgument)
			}
			return cmd.Help()
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&g.files, "file", "f", nil, "Compose configuration files")
	f.StringVarP(&g.name, "project-name", "p", "", "Project name")
	f.StringVar(&g.projectDir, "project-directory", "", "Specify an alternate working directory (default: the path of the first specified Compose file)")
	f.StringArrayVar(&g.envFiles, "env-file", nil, "Specify an alternate environment file")
	f.StringArrayVar(&g.profiles, "profile", nil, "Specify a profile to enable")
	defaultRoot := os.Getenv("COMPOSE_ROOT")
	if defaultRoot == "" {
		defaultRoot = engine.DefaultRoot
	}
	f.StringVar(&g.root, "root", defaultRoot, "State directory of the embedded engine (env COMPOSE_ROOT)")
	f.StringVar(&g.progress, "progress", os.Getenv("COMPOSE_PROGRESS"), "Set type of progress output (auto, tty, plain, json, quiet)")
	f.StringVar(&g.ansi, "ansi", envOr("COMPOSE_ANSI", "auto"), `Control when to print ANSI control characters ("never"|"always"|"auto")`)
	f.BoolVar(&g.dryRun, "dry-run", false, "Execute command in dry run mode")
	cmd.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return checkDryRun(g, c) }
	cmd.AddCommand(
		newUpCmd(g), newDownCmd(g), newPsCmd(g), newLogsCmd(g),
		newConfigCmd(g), newVersionCmd(), newImageCmd(g),
		newPullCmd(g), newPushCmd(g), newImagesCmd(g),
	)
	cmd.AddCommand( // containers in depth: exec, run and the lifecycle commands
		newExecCmd(g), newRunCmd(g), newStartCmd(g), newStopCmd(g), newRestartCmd(g),
		newKillCmd(g), newPauseCmd(g), newUnpauseCmd(g), newRmCmd(g), newTopCmd(g),
		newWaitCmd(g), newCpCmd(g), newAttachCmd(g), newStatsCmd(g),
	)
	cmd.AddCommand(newPortCmd(g), newNetworkCmd(g)) // networks and ports
	cmd.AddCommand(newVolumeCmd(g))                 // volumes
	cmd.AddCommand(newLsCmd(g), newEventsCmd(g))    // status
	cmd.AddCommand(newBuildCmd(g))                  // images from Dockerfiles
	cmd.AddCommand(newScaleCmd(g))                  // convergence
	cmd.AddCommand(newWatchCmd(g))                  // develop.watch
	return cmd
}

func (g *globalOptions) loadOptions() project.Options {
	return project.Options{
		ConfigPaths: g.files,
		ProjectName: g.name,
		ProjectDir:  g.projectDir,
		EnvFiles:    g.envFiles,
		Profiles:    g.profiles,
		Environ:     os.Environ(),
	}
}

// load reads the project the way Docker Compose finds it.
func (g *globalOptions) load(ctx context.Context) (*types.Project, error) {
	return project.Load(ctx, g.loadOptions())
}

// loadFor is load for a command acting on services (all when none): only
// their and their dependencies' env_file are read, as in Docker Compose.
func (g *globalOptions) loadFor(ctx context.Context, services []string) (*types.Project, error) {
	o := g.loadOptions()
	o.Services = services
	return project.Load(ctx, o)
}

// projectName resolves the project a status command acts on: from the
// compose files when they load, else from -p alone (like `docker compose -p x down`).
// As Docker Compose's projectOrName, it reads no env_file: a missing one
// does not stop a command on existing containers.
func (g *globalOptions) projectName(ctx context.Context) (string, *types.Project, error) {
	o := g.loadOptions()
	o.NoEnvironment = true
	p, err := project.Load(ctx, o)
	if err == nil {
		return p.Name, p, nil
	}
	if name := g.name; name != "" {
		return name, nil, nil
	}
	if name := os.Getenv("COMPOSE_PROJECT_NAME"); name != "" && len(g.files) == 0 {
		return name, nil, nil
	}
	return "", nil, err
}

// projectServices is projectName plus a check of the services named on the
// command line, when the compose files are at hand.
func (g *globalOptions) projectServices(ctx context.Context, services []string) (string, error) {
	name, p, err := g.projectName(ctx)
	if err != nil {
		return "", err
	}
	if p != nil {
		if err := project.SelectServices(p, services); err != nil {
			return "", err
		}
	}
	return name, nil
}

func (g *globalOptions) engine() (*engine.Engine, error) {
	mode, err := progress.ModeFor(g.progress, g.ansi)
	if err != nil {
		return nil, err
	}
	return engine.New(engine.Options{Root: g.root, Err: os.Stderr, Progress: mode, NoColor: g.noColor(), DryRun: g.dryRun})
}

// noColor: --ansi never or the NO_COLOR convention.
func (g *globalOptions) noColor() bool { return g.ansi == "never" || os.Getenv("NO_COLOR") != "" }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
