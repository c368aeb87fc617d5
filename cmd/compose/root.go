package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

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
	// parallel bounds the work done at once (--parallel, else
	// COMPOSE_PARALLEL_LIMIT); -1 or 0: no bound.
	parallel      int
	verbose       bool // --verbose: debug lines on stderr
	compatibility bool // --compatibility: v1 names, project_service_1
	allResources  bool // --all-resources: keep networks and volumes no service uses

	engines []*engine.Engine // made for the command, closed after it (closeEngines)
}

func newRootCmd() *cobra.Command {
	return newRootCmdWith(&globalOptions{})
}

// newRootCmdWith is the root command over g, which main closes the
// command's engines with.
func newRootCmdWith(g *globalOptions) *cobra.Command {
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
	f.BoolVar(&g.compatibility, "compatibility", false, "Run compose in backward compatibility mode")
	f.BoolVar(&g.allResources, "all-resources", false, "Include all resources, even those not used by services")
	f.IntVar(&g.parallel, "parallel", -1, "Control max parallelism, -1 for unlimited")
	f.BoolVar(&g.verbose, "verbose", false, "Show more output")
	_ = f.MarkHidden("verbose")
	// Persistent, as Docker's: `compose up --dry-run` works too.
	cmd.PersistentFlags().BoolVar(&g.dryRun, "dry-run", false, "Execute command in dry run mode")
	cmd.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if err := g.resolveParallel(c.Root()); err != nil {
			return err
		}
		return checkDryRun(g, c)
	}
	cmd.AddCommand(
		newUpCmd(g), newCreateCmd(g), newDownCmd(g), newPsCmd(g), newLogsCmd(g),
		newConfigCmd(g), newVersionCmd(), newImageCmd(g),
		newPullCmd(g), newPushCmd(g), newImagesCmd(g), newPublishCmd(g),
	)
	cmd.AddCommand( // containers in depth: exec, run and the lifecycle commands
		newExecCmd(g), newRunCmd(g), newStartCmd(g), newStopCmd(g), newRestartCmd(g),
		newKillCmd(g), newPauseCmd(g), newUnpauseCmd(g), newRmCmd(g), newTopCmd(g),
		newWaitCmd(g), newCpCmd(g), newAttachCmd(g), newStatsCmd(g),
		newCommitCmd(g), newExportCmd(g),
	)
	cmd.AddCommand(newPortCmd(g), newNetworkCmd(g))   // networks and ports
	cmd.AddCommand(newVolumeCmd(g), newVolumesCmd(g)) // volumes
	cmd.AddCommand(newLsCmd(g), newEventsCmd(g))      // status
	cmd.AddCommand(newBuildCmd(g))                    // images from Dockerfiles
	cmd.AddCommand(newScaleCmd(g))                    // convergence
	cmd.AddCommand(newWatchCmd(g))                    // develop.watch
	cmd.AddCommand(newGraphCmd(g))                    // the stack as a picture
	cmd.AddCommand(newSystemCmd(g))                   // boot integration: resume after a reboot
	cmd.AddCommand(newK8sCmd(g))                      // the stack on Kubernetes (compose-k8s)
	return cmd
}

func (g *globalOptions) loadOptions() project.Options {
	return project.Options{
		ConfigPaths:  g.files,
		ProjectName:  g.name,
		ProjectDir:   g.projectDir,
		EnvFiles:     g.envFiles,
		Profiles:     g.profiles,
		Environ:      g.environ(),
		AllResources: g.allResources,
	}
}

// environ is the environment the project is loaded with: --compatibility
// sets COMPOSE_COMPATIBILITY in it, where Docker Compose reads either.
func (g *globalOptions) environ() []string {
	env := os.Environ()
	if g.compatibility {
		env = append(env, "COMPOSE_COMPATIBILITY=true")
	}
	return env
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
	e, err := engine.New(engine.Options{
		Root: g.root, Err: statusWriter(), Out: os.Stdout, Progress: mode, NoColor: noColorEnv(), DryRun: g.dryRun,
		Parallel: g.parallel, Compatibility: g.compat(), Verbose: g.verbose,
	})
	if err == nil {
		g.engines = append(g.engines, e)
	}
	return e, err
}

// closeEngines closes the engines the command made: the last compose
// process of an emptied state root removes its runtime dir.
func (g *globalOptions) closeEngines() {
	for _, e := range g.engines {
		_ = e.Close()
	}
	g.engines = nil
}

// compat is --compatibility or COMPOSE_COMPATIBILITY, as Docker Compose reads either.
func (g *globalOptions) compat() bool {
	return g.compatibility || envBool("COMPOSE_COMPATIBILITY")
}

// resolveParallel applies COMPOSE_PARALLEL_LIMIT unless --parallel was
// given, with Docker Compose's error for a value that is not a number.
func (g *globalOptions) resolveParallel(root *cobra.Command) error {
	v, ok := os.LookupEnv("COMPOSE_PARALLEL_LIMIT")
	if !ok || root.Flags().Changed("parallel") {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("COMPOSE_PARALLEL_LIMIT must be an integer (found: %q): %w", v, errdefs.ErrInvalidArgument)
	}
	g.parallel = n
	return nil
}

// statusWriter is where progress and status lines go: stderr, or stdout
// with COMPOSE_STATUS_STDOUT set, as Docker Compose's stdinfo.
func statusWriter() *os.File {
	if envBool("COMPOSE_STATUS_STDOUT") {
		return os.Stdout
	}
	return os.Stderr
}

// envBool reads a boolean environment variable the way Docker Compose
// does (strconv.ParseBool; anything else is false).
func envBool(key string) bool {
	b, _ := strconv.ParseBool(os.Getenv(key))
	return b
}

// noColorEnv is the NO_COLOR convention (https://no-color.org), which
// Docker Compose honours when set and not empty.
func noColorEnv() bool { return os.Getenv("NO_COLOR") != "" }

// colors reports whether output written to out gets colours, as Docker
// Compose decides for its log prefixes (cmd/formatter/colors.go, useAnsi):
// --ansi always forces them, auto wants a terminal (Compose looks at its
// stdout), any other value and NO_COLOR turn them off.
func (g *globalOptions) colors(out io.Writer) bool {
	if noColorEnv() {
		return false
	}
	switch g.ansi {
	case "always":
		return true
	case "auto":
		return isTerminal(out)
	}
	return false
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
