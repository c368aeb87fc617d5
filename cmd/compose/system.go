package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/boot"
	"github.com/composer-dev/compose/engine"
)

// newSystemCmd is `compose system`: what a daemon would do for the host,
// done by commands (there is no daemon): bringing containers back at boot.
func newSystemCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "system COMMAND", Short: "Manage the state root on this host (boot integration)"}
	cmd.AddCommand(newSystemResumeCmd(g), newSystemInstallBootCmd(g), newSystemUninstallBootCmd(g))
	return cmd
}

func newSystemResumeCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "Repair this state root after a reboot and start the containers that restart always, or unless-stopped unless the user stopped them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.Resume(cmd.Context())
		},
	}
}

// bootOptions are the flags of install-boot and uninstall-boot.
type bootOptions struct {
	unitDir string
}

func (o *bootOptions) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.unitDir, "unit-dir", envOr("COMPOSE_SYSTEMD_UNIT_DIR", boot.DefaultDir), "systemd unit directory (env COMPOSE_SYSTEMD_UNIT_DIR)")
}

// unit is the boot unit of the state root, run by this binary.
func (o *bootOptions) unit(g *globalOptions) (boot.Unit, error) {
	exe, err := os.Executable()
	if err != nil {
		return boot.Unit{}, err
	}
	root, err := filepath.Abs(g.root)
	if err != nil {
		return boot.Unit{}, err
	}
	return boot.Unit{Dir: o.unitDir, Exe: exe, Root: root, DefaultRoot: engine.DefaultRoot}, nil
}

func newSystemInstallBootCmd(g *globalOptions) *cobra.Command {
	o := &bootOptions{}
	cmd := &cobra.Command{
		Use:   "install-boot [OPTIONS]",
		Short: "Install and enable a systemd unit that runs `system resume` for this state root at boot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := o.unit(g)
			if err != nil {
				return err
			}
			if err := u.Install(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Installed %s, enabled for multi-user.target: at boot it runs %s --root %s system resume (systemd reads it at the next boot, or after systemctl daemon-reload)\n", u.Path(), u.Exe, u.Root)
			return nil
		},
	}
	o.bind(cmd)
	return cmd
}

func newSystemUninstallBootCmd(g *globalOptions) *cobra.Command {
	o := &bootOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall-boot [OPTIONS]",
		Short: "Disable and remove the boot unit of this state root",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := o.unit(g)
			if err != nil {
				return err
			}
			removed, err := u.Uninstall()
			if err != nil {
				return err
			}
			if removed {
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %s\n", u.Path())
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "No boot unit %s to remove\n", u.Path())
			}
			return nil
		},
	}
	o.bind(cmd)
	return cmd
}
