// Command compose-k8s runs a Compose project on a Kubernetes cluster:
// `export` writes it as Kubernetes objects, `apply` applies them with
// client-go, `down` removes them. compose runs it for `compose k8s ...`,
// from beside itself; it lives in a Go module of its own so that the
// Kubernetes client stays out of compose.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/composer-dev/compose/k8s/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
