package engine

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/logs"
	"github.com/composer-dev/compose/networks"
)

// Supervise is the body of the per-container supervisor process
// (`compose __supervise DIR`). It wires the runtime's hooks to the networks
// (set up before the container starts, torn down after it exits) and to the
// container's log file. It touches neither the image store nor the project.
func Supervise(ctx context.Context, dir, exe string) error {
	rec, err := loadRecord(dir)
	if err != nil {
		return err
	}
	root := filepath.Dir(filepath.Dir(dir)) // <root>/containers/<id>
	runDir := RunDir(root)
	nets := &networks.Manager{StateDir: filepath.Join(root, "networks"), RunDir: runDir, Exe: exe}
	logw, err := logs.NewWriter(rec.logPath(), logs.WriterOptions{})
	if err != nil {
		return err
	}
	defer logw.Close()
	hooks := container.Hooks{
		Prepare: func(ctx context.Context, spec *container.Spec) error {
			return connect(ctx, nets, rec, spec)
		},
		Output: func(stream string) io.Writer { return logw.Stream(stream) },
		Cleanup: func(ctx context.Context, spec *container.Spec) {
			disconnect(ctx, nets, rec)
		},
	}
	return container.Supervise(ctx, dir, runDir, hooks)
}

// connect gives the container its network namespace and one interface per
// network, then writes its /etc/hosts with the first address.
func connect(ctx context.Context, nets *networks.Manager, rec *Record, spec *container.Spec) error {
	ns, err := nets.CreateNetNS(rec.ID)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	spec.NetNS = ns
	var ip string
	for _, a := range rec.Networks {
		ep, err := nets.Connect(ctx, ns, a.Network, networks.Endpoint{ContainerID: rec.ID, ContainerName: rec.Name, Aliases: a.Aliases})
		if err != nil {
			disconnect(ctx, nets, rec)
			return fmt.Errorf("network %s: %w", a.Network, err)
		}
		if ip == "" {
			ip = ep.IP
		}
	}
	return writeHosts(rec.dir, spec.Hostname, ip)
}

func disconnect(ctx context.Context, nets *networks.Manager, rec *Record) {
	for _, a := range rec.Networks {
		_ = nets.Disconnect(ctx, a.Network, rec.ID)
	}
	_ = nets.DeleteNetNS(rec.ID)
}
