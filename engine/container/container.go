// Package container runs one container on runc's libcontainer, each under its
// own detached, lean supervisor process (compose-supervisor, see the
// supervisor package), so the CLI that started a container can exit while
// the supervisor holds its stdio, waits for it and records its exit status.
// The supervisor runs the full binary briefly to create (`__create`), probe
// (`__exec-health`) and destroy (`__cleanup`) the container.
//
// This is the only package that imports libcontainer: its API changes between
// releases, so it is adapted here and nowhere else.
package container

import (
	"context"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/runspec"
)

// Spec and Mount are the container's description (package runspec).
type (
	Spec  = runspec.Spec
	Mount = runspec.Mount
)

// Hooks are called by the full binary around the container's life: Prepare
// in `__create` before the container is created, Cleanup in `__cleanup`
// after it exited and was destroyed (also after a failed start, when Prepare
// had succeeded). The supervisor itself writes the container's log file.
type Hooks struct {
	// Prepare runs before the container is created; an error fails the start
	// with that message.
	Prepare func(ctx context.Context, spec *Spec) error
	// Cleanup runs after the container exited and was destroyed. Its
	// error fails a repair (Runtime.Repair), which is tried again later.
	Cleanup func(ctx context.Context, spec *Spec) error
}

// Runtime starts and controls containers. The zero value is not usable: set
// RunDir and Exe.
type Runtime struct {
	RunDir string // runtime-only dir (e.g. /run/compose); libcontainer state goes in RunDir/runc
	Exe    string // the full binary, run as `Exe __create <dir>`, `Exe __cleanup <dir>`, `Exe init`
	// Supervisor is the lean supervisor binary; "" = compose-supervisor
	// beside Exe.
	Supervisor string
}

// Status is a container's lifecycle state, named like Docker's.
type Status = supervisor.Status

// The statuses a container goes through.
const (
	StatusCreated    = supervisor.StatusCreated
	StatusRunning    = supervisor.StatusRunning
	StatusRestarting = supervisor.StatusRestarting
	StatusExited     = supervisor.StatusExited
)

// State is what the supervisor records in Dir/state.json: status, exit
// code, OOM kill, restart count and health.
type State = supervisor.State

// Health is a container's healthcheck state (State.Health).
type Health = supervisor.Health

// HealthResult is one healthcheck probe.
type HealthResult = supervisor.HealthResult

// File names inside Spec.Dir.
const (
	specFile  = supervisor.SpecFile
	stateFile = supervisor.StateFile
)

// HostNetNS as Spec.NetNS runs the container in the host's network
// namespace (network_mode: host).
const HostNetNS = runspec.HostNetNS
