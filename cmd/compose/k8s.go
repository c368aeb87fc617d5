package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/composer-dev/compose/errdefs"
)

// k8sBinary is the program `compose k8s` runs, from beside compose: the
// Kubernetes client and the export live in a module of their own (k8s/),
// so that they cost compose nothing in size or start-up.
const k8sBinary = "compose-k8s"

func newK8sCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "k8s COMMAND",
		Short: "Run the project on a Kubernetes cluster: export it as objects, apply them, remove them (compose-k8s)",
		Long: "Run the project on a Kubernetes cluster with compose-k8s, found beside compose:\n" +
			"  compose k8s export [-o DIR] [--namespace NS]     write the objects as YAML\n" +
			"  compose k8s apply [--kubeconfig FILE] [--context NAME] [--namespace NS]\n" +
			"  compose k8s down [--volumes] [--kubeconfig FILE] [--context NAME] [--namespace NS]\n" +
			"See 'compose k8s --help' for every flag.",
		// Everything after `k8s` is compose-k8s's to parse.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			path, argv, err := k8sCommand(exe, g, args)
			if err != nil {
				return err
			}
			env := g.environ()
			return syscall.Exec(path, argv, env)
		},
	}
}

// k8sCommand is the compose-k8s beside exe and its arguments: the global
// flags that select the project, then args.
func k8sCommand(exe string, g *globalOptions, args []string) (string, []string, error) {
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	path := filepath.Join(filepath.Dir(exe), k8sBinary)
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return "", nil, fmt.Errorf("compose k8s needs %s beside compose (%s), which is missing: build it with `make build`: %w", k8sBinary, path, errdefs.ErrFailedPrecondition)
	}
	argv := []string{k8sBinary}
	for _, f := range g.files {
		argv = append(argv, "--file", f)
	}
	if g.name != "" {
		argv = append(argv, "--project-name", g.name)
	}
	if g.projectDir != "" {
		argv = append(argv, "--project-directory", g.projectDir)
	}
	for _, f := range g.envFiles {
		argv = append(argv, "--env-file", f)
	}
	for _, p := range g.profiles {
		argv = append(argv, "--profile", p)
	}
	if g.dryRun {
		argv = append(argv, "--dry-run")
	}
	return path, append(argv, args...), nil
}
