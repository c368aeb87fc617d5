package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
	"github.com/composer-dev/compose/errdefs"
)

type execOptions struct {
	detach      bool
	user        string
	workdir     string
	env         []string
	index       int
	noTty       bool
	tty         bool
	interactive bool
	privileged  bool
}

func newExecCmd(g *globalOptions) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			tty := stdinIsTerminal() && !o.noTty
			if cmd.Flags().Changed("tty") {
				tty = o.tty && !o.noTty
			}
			opts := engine.ExecOptions{
				Service: args[0], Index: o.index, Args: args[1:], Detach: o.detach,
				User: o.user, Workdir: o.workdir, Env: o.env, Privileged: o.privileged, Tty: tty,
				Stdout: os.Stdout, Stderr: os.Stderr,
			}
			if o.interactive && !o.detach {
				opts.Stdin = os.Stdin
			}
			if tty && !o.detach {
				size, resize, restore := rawTerminal()
				defer restore()
				opts.Size, opts.Resize = size, resize
			}
			code, err := e.Exec(cmd.Context(), name, opts)
			if err != nil {
				return startFailure(err)
			}
			return errdefs.Exit(code)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after SERVICE belong to COMMAND
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: Run command in the background")
	f.StringVarP(&o.user, "user", "u", "", "Run the command as this user")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Path to workdir directory for this command")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.IntVar(&o.index, "index", 0, "Index of the container if service has multiple replicas")
	f.BoolVarP(&o.noTty, "no-tty", "T", false, "Disable pseudo-TTY allocation. By default 'docker compose exec' allocates a TTY.")
	f.BoolVarP(&o.tty, "tty", "t", true, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to the process")
	f.SetNormalizeFunc(normalizeTTY)
	return cmd
}
