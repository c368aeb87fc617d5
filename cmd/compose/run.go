package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

type runOptions struct {
	build        buildFlags
	detach       bool
	rm           bool
	name         string
	entrypoint   string
	env          []string
	labels       []string
	user         string
	workdir      string
	volumes      []string
	publish      []string
	servicePorts bool
	noDeps       bool
	noTty        bool
	tty          bool
	interactive  bool
	quietPull    bool
	quietBuild   bool
	quiet        bool
	pull         string
	envFiles     []string
	capAdd       []string
	capDrop      []string
	useAliases   bool
	removeOrph   bool
}

func newRunCmd(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.publish) > 0 && o.servicePorts {
				return fmt.Errorf("--service-ports and --publish are incompatible: %w", errdefs.ErrInvalidArgument)
			}
			tty, err := ttyWanted(cmd.Flags(), o.tty, o.noTty)
			if err != nil {
				return err
			}
			if o.quiet { // Docker Compose's -q quiets the progress display
				g.progress = string(progress.ModeQuiet)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.loadFor(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			opts := engine.RunOptions{
				Service: args[0], Name: o.name, Detach: o.detach, Rm: o.rm, NoDeps: o.noDeps,
				Env: o.env, Labels: o.labels, User: o.user, Workdir: o.workdir, Volumes: o.volumes,
				Publish: o.publish, ServicePorts: o.servicePorts, Tty: tty, Interactive: o.interactive && !o.detach,
				Pull: o.pull, EnvFiles: o.envFiles, CapAdd: o.capAdd, CapDrop: o.capDrop, UseAliases: o.useAliases,
				QuietPull: o.quietPull, QuietBuild: o.quietBuild,
				RemoveOrphans: o.removeOrph, IgnoreOrphans: projectEnvBool(p, "COMPOSE_IGNORE_ORPHANS"),
				Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
			}
			if opts.Build, err = o.build.policy(); err != nil {
				return err
			}
			if len(args) > 1 {
				opts.Command = args[1:]
			}
			if cmd.Flags().Changed("entrypoint") {
				opts.Entrypoint = &o.entrypoint
			}
			if tty && !o.detach {
				_, resize, restore := rawTerminal()
				defer restore()
				opts.Resize = resize
			}
			code, err := e.Run(cmd.Context(), p, opts)
			if err != nil {
				return startFailure(err)
			}
			return errdefs.Exit(code)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after SERVICE belong to COMMAND
	f.BoolVarP(&o.detach, "detach", "d", false, "Run container in background and print container ID")
	f.BoolVar(&o.rm, "rm", false, "Automatically remove the container when it exits")
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Override the entrypoint of the image")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Add or override a label")
	f.StringVarP(&o.user, "user", "u", "", "Run as specified username or uid")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	f.BoolVarP(&o.servicePorts, "service-ports", "P", false, "Run command with all service's ports enabled and mapped to the host")
	f.BoolVar(&o.noDeps, "no-deps", false, "Don't start linked services")
	f.BoolVarP(&o.noTty, "no-tty", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVarP(&o.tty, "tty", "t", true, "Allocate a pseudo-TTY")
	_ = f.MarkHidden("tty")
	f.BoolVarP(&o.interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	f.StringArrayVar(&o.envFiles, "env-from-file", nil, "Set environment variables from file")
	f.StringArrayVar(&o.capAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&o.useAliases, "use-aliases", false, "Use the service's network useAliases in the network(s) the container connects to")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Don't print anything to STDOUT")
	f.BoolVar(&o.quietBuild, "quiet-build", false, "Suppress progress output from the build process")
	f.BoolVar(&o.quietPull, "quiet-pull", false, "Pull without printing progress information")
	f.BoolVar(&o.removeOrph, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.StringVar(&o.pull, "pull", "policy", `Pull image before running ("always"|"missing"|"never")`)
	o.build.add(f, false)
	f.SetNormalizeFunc(normalizeRunFlags)
	return cmd
}

// normalizeRunFlags takes the other spellings Docker Compose's run
// accepts: --volumes, --labels, and --no-TTY (its name before --no-tty).
func normalizeRunFlags(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "volumes":
		name = "volume"
	case "labels":
		name = "label"
	}
	return normalizeTTY(nil, name)
}

// normalizeTTY accepts --no-TTY for --no-tty, on exec and run.
func normalizeTTY(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	if name == "no-TTY" {
		name = "no-tty"
	}
	return pflag.NormalizedName(name)
}

// ttyWanted decides the tty of exec and run as Docker Compose does: -t
// and -T together are an error, -t decides alone, else a terminal on stdin
// unless -T.
func ttyWanted(f *pflag.FlagSet, tty, noTty bool) (bool, error) {
	if f.Changed("tty") {
		if f.Changed("no-tty") {
			return false, fmt.Errorf("--tty and --no-TTY can't be used together: %w", errdefs.ErrInvalidArgument)
		}
		return tty, nil
	}
	return stdinIsTerminal() && !noTty, nil
}

// startFailure turns a process that could not start (command not found,
// not executable) into Docker's message and exit code (127, 126).
func startFailure(err error) error {
	var se *container.StartError
	if errors.As(err, &se) && (se.ExitCode == 126 || se.ExitCode == 127) {
		return &errdefs.ExitStatus{Code: se.ExitCode, Msg: se.Msg}
	}
	return err
}
