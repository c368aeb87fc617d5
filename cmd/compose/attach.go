package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/engine"
)

func newAttachCmd(g *globalOptions) *cobra.Command {
	var index int
	var noStdin, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] SERVICE",
		Short: "Attach local standard input, output, and error streams to a service's running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := g.projectServices(cmd.Context(), args)
			if err != nil {
				return err
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			opts := engine.AttachOptions{Service: args[0], Index: index, Stdout: os.Stdout, Stderr: os.Stderr, DetachKeys: detachKeys}
			if !noStdin {
				opts.Stdin = os.Stdin
				if stdinIsTerminal() {
					_, resize, restore := rawTerminal()
					defer restore()
					opts.Resize = resize
				}
			}
			if sigProxy {
				// Signals go to the container, not to us.
				sigs := make(chan os.Signal, 4)
				signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
				defer signal.Stop(sigs)
				go func() {
					for s := range sigs {
						_ = e.KillContainer(cmd.Context(), name, args[0], index, s.(syscall.Signal).String())
					}
				}()
			}
			return e.Attach(cmd.Context(), name, opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&index, "index", 0, "index of the container if service has multiple replicas.")
	f.BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching from a container.")
	return cmd
}
