// Package cli is compose-k8s's command line: `export`, `apply` and `down`,
// with the global flags of compose that select a project. `compose k8s
// ...` runs it with those flags forwarded.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/k8s/cluster"
	"github.com/composer-dev/compose/k8s/export"
	"github.com/composer-dev/compose/project"
)

// global are compose's flags that select the project.
type global struct {
	files      []string
	name       string
	projectDir string
	envFiles   []string
	profiles   []string
	dryRun     bool
}

// NewRootCmd is compose-k8s's root command; out and errOut receive the
// commands' output and warnings.
func NewRootCmd(out, errOut io.Writer) *cobra.Command {
	g := &global{}
	cmd := &cobra.Command{
		Use:           "compose-k8s [OPTIONS] COMMAND",
		Short:         "Run a Compose project on a Kubernetes cluster: export it as objects, apply them, remove them",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Global flags go before the command, as with compose.
		TraverseChildren: true,
		Args:             cobra.NoArgs,
		RunE:             func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	f := cmd.Flags()
	f.StringArrayVarP(&g.files, "file", "f", nil, "Compose configuration files")
	f.StringVarP(&g.name, "project-name", "p", "", "Project name")
	f.StringVar(&g.projectDir, "project-directory", "", "Specify an alternate working directory (default: the path of the first specified Compose file)")
	f.StringArrayVar(&g.envFiles, "env-file", nil, "Specify an alternate environment file")
	f.StringArrayVar(&g.profiles, "profile", nil, "Specify a profile to enable")
	cmd.PersistentFlags().BoolVar(&g.dryRun, "dry-run", false, "Send every request as a server-side dry run (apply, down)")
	cmd.AddCommand(newExportCmd(g), newApplyCmd(g), newDownCmd(g))
	return cmd
}

func (g *global) load(ctx context.Context) (*types.Project, error) {
	return g.loadWith(ctx, false)
}

// loadWith loads the project; noEnv reads no env_file, as compose does for
// commands on what exists (down).
func (g *global) loadWith(ctx context.Context, noEnv bool) (*types.Project, error) {
	return project.Load(ctx, project.Options{
		NoEnvironment: noEnv,
		ConfigPaths:   g.files,
		ProjectName:   g.name,
		ProjectDir:    g.projectDir,
		EnvFiles:      g.envFiles,
		Profiles:      g.profiles,
	})
}

// manifest loads the project and exports it, printing the warnings.
func (g *global) manifest(cmd *cobra.Command, namespace string) (*export.Manifest, error) {
	p, err := g.load(cmd.Context())
	if err != nil {
		return nil, err
	}
	m, err := export.Export(p, export.Options{Namespace: namespace})
	if err != nil {
		return nil, err
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "WARN[0000] %s\n", w)
	}
	return m, nil
}

func newExportCmd(g *global) *cobra.Command {
	var output, namespace string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS]",
		Short: "Write the project as Kubernetes objects (YAML), warning about what has no Kubernetes meaning",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := g.manifest(cmd, namespace)
			if err != nil {
				return err
			}
			if output == "" {
				return m.WriteStream(cmd.OutOrStdout())
			}
			_, err = m.WriteDir(output)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write one file per object into this directory (atomically) instead of one stream to stdout")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "Namespace of the objects (and a Namespace object first)")
	return cmd
}

// clusterFlags are kubectl's flags that select the cluster.
func clusterFlags(cmd *cobra.Command, c *cluster.Config) {
	f := cmd.Flags()
	f.StringVar(&c.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	f.StringVar(&c.Context, "context", "", "The kubeconfig context to use")
	f.StringVarP(&c.Namespace, "namespace", "n", "", "Namespace (default: the context's, else default)")
}

func newApplyCmd(g *global) *cobra.Command {
	var cc cluster.Config
	var force, removeOrphans bool
	cmd := &cobra.Command{
		Use:   "apply [OPTIONS]",
		Short: "Server-side apply the project's objects to the cluster (creating the namespace if needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := g.manifest(cmd, "")
			if err != nil {
				return err
			}
			c, err := cluster.New(cc)
			if err != nil {
				return err
			}
			c.Out = cmd.OutOrStdout()
			return c.Apply(cmd.Context(), m, cluster.ApplyOptions{
				DryRun: g.dryRun, Force: force, RemoveOrphans: removeOrphans, Warn: cmd.ErrOrStderr(),
			})
		},
	}
	clusterFlags(cmd, &cc)
	cmd.Flags().BoolVar(&force, "force-conflicts", false, "Take over fields that another field manager owns")
	cmd.Flags().BoolVar(&removeOrphans, "remove-orphans", false, "Remove objects of services not defined in the Compose file")
	return cmd
}

func newDownCmd(g *global) *cobra.Command {
	var cc cluster.Config
	var volumes bool
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Remove the project's objects from the cluster (claims too with --volumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := g.projectName(cmd.Context())
			if err != nil {
				return err
			}
			c, err := cluster.New(cc)
			if err != nil {
				return err
			}
			c.Out = cmd.OutOrStdout()
			return c.Down(cmd.Context(), name, cluster.DownOptions{Volumes: volumes, DryRun: g.dryRun})
		},
	}
	clusterFlags(cmd, &cc)
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove the persistent volume claims of named volumes (and a namespace apply created)")
	return cmd
}

// projectName is the project's name from the compose files, or from -p
// (or COMPOSE_PROJECT_NAME) alone when they do not load, as compose down
// finds it.
func (g *global) projectName(ctx context.Context) (string, error) {
	p, err := g.loadWith(ctx, true)
	if err == nil {
		return p.Name, nil
	}
	if g.name != "" {
		return g.name, nil
	}
	if name := os.Getenv("COMPOSE_PROJECT_NAME"); name != "" && len(g.files) == 0 {
		return name, nil
	}
	return "", err
}

// Main runs compose-k8s and returns its exit code.
func Main(ctx context.Context, args []string) int {
	cmd := NewRootCmd(os.Stdout, os.Stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	code, silent := errdefs.ExitCode(err)
	if !silent {
		fmt.Fprintln(os.Stderr, errdefs.Message(err))
	}
	return code
}
