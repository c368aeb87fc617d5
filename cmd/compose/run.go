package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
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
	pull         string
}

func newRunCmd(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			p, err := g.loadFor(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			tty := stdinIsTerminal() && !o.noTty
			if cmd.Flags().Changed("tty") {
				tty = o.tty && !o.noTty
			}
			opts := engine.RunOptions{
				Service: args[0], Name: o.name, Detach: o.detach, Rm: o.rm, NoDeps: o.noDeps,
				Env: o.env, Labels: o.labels, User: o.user, Workdir: o.workdir, Volumes: o.volumes,
				Publish: o.publish, ServicePorts: o.servicePorts, Tty: tty, Interactive: o.interactive && !o.detach,
				Pull:  o.pull,
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
	f.BoolVar(&o.servicePorts, "service-ports", false, "Run command with all service's ports enabled and mapped to the host")
	f.BoolVar(&o.noDeps, "no-deps", false, "Don't start linked services")
	f.BoolVarP(&o.noTty, "no-TTY", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVarP(&o.tty, "tty", "t", true, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	f.BoolVar(&o.quietPull, "quiet-pull", false, "Pull without printing progress information")
	f.StringVar(&o.pull, "pull", "policy", `Pull image before running ("always"|"missing"|"never")`)
	o.build.add(f, false)
	return cmd
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
