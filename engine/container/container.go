// Package container runs one container on runc's libcontainer, each under its
// own detached supervisor process (the product binary re-executed as
// `__supervise <dir>`), so the CLI that started a container can exit while the
// supervisor holds its stdio, waits for it and records its exit status.
//
// This is the only package that imports libcontainer: its API changes between
// releases, so it is adapted here and nowhere else.
package container

import (
	"context"
	"io"
	"time"
)

// Spec is everything needed to run one container. It is saved as Dir/spec.json.
type Spec struct {
	ID         string            // 64 hex chars, Docker-like
	Name       string            // e.g. "myproj-web-1", for messages
	Dir        string            // per-container persistent dir, owned by the caller; must exist
	Args       []string          // final argv
	Env        []string          // NAME=VALUE
	Cwd        string            // "" = "/"
	User       string            // "", "uid", "uid:gid", "name", "name:group"
	Hostname   string            // "" = the first 12 chars of ID, like Docker
	Lower      []string          // image layer dirs, bottom first
	NetNS      string            // netns path to join; "" = a fresh netns with only lo
	Mounts     []Mount           // extra bind mounts (files or dirs)
	Labels     map[string]string // informational
	StopSignal string            // "" = SIGTERM; "SIGUSR1", "USR1" or "10"

	Options Options       // everything else that shapes the container (options.go)
	Restart RestartPolicy // what the supervisor does when the container exits (policy.go)
	Health  *Healthcheck  // nil = none (policy.go)
	Log     LogOptions    // log file rotation (policy.go)
}

// Mount is a bind mount from the host into the container.
type Mount struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// Hooks are called by the supervisor around the container's life.
type Hooks struct {
	// Prepare runs before the container is created; an error fails the start
	// with that message.
	Prepare func(ctx context.Context, spec *Spec) error
	// Output returns where the "stdout" or "stderr" stream goes; nil (or a nil
	// writer) discards it. A writer that is also an io.Closer is closed when
	// the stream ends.
	Output func(stream string) io.Writer
	// Cleanup runs after the container exited and was destroyed (also after a
	// failed start, when Prepare had succeeded).
	Cleanup func(ctx context.Context, spec *Spec)
}

// Runtime starts and controls containers. The zero value is not usable: set
// RunDir and Exe.
type Runtime struct {
	RunDir string // runtime-only dir (e.g. /run/compose); libcontainer state goes in RunDir/runc
	Exe    string // binary re-executed as `Exe __supervise <dir>` and `Exe init`
}

// Status is a container's lifecycle state, named like Docker's.
type Status string

// The statuses a container goes through.
const (
	StatusCreated Status = "created"
	StatusRunning Status = "running"
	StatusExited  Status = "exited"
)

// State is what the supervisor records in Dir/state.json.
type State struct {
	Status     Status
	Pid        int // the container's init, as seen from the host
	ExitCode   int
	OOMKilled  bool
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string // why the start failed or the supervisor died

	// SupervisorPid and SupervisorStart (its start time in clock ticks since
	// boot) identify the live supervisor, so a dead one is noticed even if its
	// pid was reused.
	SupervisorPid   int    `json:",omitempty"`
	SupervisorStart uint64 `json:",omitempty"`
}

// SuperviseArg is the argv[1] that makes the binary run Supervise.
const SuperviseArg = "__supervise"

// File names inside Spec.Dir.
const (
	specFile  = "spec.json"
	stateFile = "state.json"
)
