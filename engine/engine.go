// Package engine converges a compose project on this host: it turns the loaded
// project into networks and containers (image store, libcontainer runtime,
// bridges and DNS). The status commands are engine/status's: the engine
// hands it the records and the runtime (status.go).
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/networks"
	"github.com/composer-dev/compose/progress"
)

// DefaultRoot is where state lives unless --root or COMPOSE_ROOT say otherwise.
const DefaultRoot = "/var/lib/compose"

// runBase holds runtime-only state (libcontainer state, netns mounts, pids).
const runBase = "/run/compose"

// Options configure an Engine.
type Options struct {
	Root string    // state root; DefaultRoot when empty
	Exe  string    // this binary, re-executed for supervisors and the DNS server
	Err  io.Writer // progress display ("Container x Started"); os.Stderr when nil
	Out  io.Writer // what Docker Compose prints on stdout (build output); os.Stdout when nil
	// Progress is the display mode (--progress); NoColor turns colours off.
	Progress progress.Mode
	NoColor  bool
	// DryRun (--dry-run): commands report what they would do and change nothing.
	DryRun bool
	// Parallel (--parallel, COMPOSE_PARALLEL_LIMIT) bounds the operations
	// run at once (pulls, container creations and starts, stops); <= 0: no bound.
	Parallel int
	// Compatibility (--compatibility) names containers and built images
	// with Compose v1's separator: project_service_1.
	Compatibility bool
	// Verbose (--verbose) prints debug lines on Err.
	Verbose bool
}

// Engine is the embedded container engine for one state root.
type Engine struct {
	root    string
	runDir  string
	exe     string
	err     io.Writer
	out     io.Writer
	images  *image.Store
	records *record.Store
	runtime *container.Runtime
	// publishedPorts reads the host ports containers publish (from
	// nftables, which needs root; tests of the plan stand in for it).
	publishedPorts func() (map[networks.PortMapping]string, error)
	nets           *networks.Manager
	runHold        *store.FileLock // a shared lock on runDir while the engine may use it (rundir.go)

	progressMode progress.Mode
	noColor      bool
	pmu          sync.Mutex
	pw           progress.Writer // the display of the running operation, if any
	dryRun       bool
	parallel     int    // at most this many operations at once; <= 0: no bound
	sep          string // between project, service and number in names
	verbose      bool

	hooks hookState // the lifecycle hooks of the running command (hooks.go)
}

// New opens the engine's state under opts.Root. It needs root privileges.
func New(opts Options) (*Engine, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the embedded engine needs root privileges (run compose as root): %w", errdefs.ErrFailedPrecondition)
	}
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	exe := opts.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	e := &Engine{root: root, runDir: RunDir(root), exe: exe, err: opts.Err, progressMode: opts.Progress, noColor: opts.NoColor, dryRun: opts.DryRun,
		parallel: opts.Parallel, sep: Separator(opts.Compatibility), verbose: opts.Verbose}
	e.records = &record.Store{Root: root, DryRun: opts.DryRun}
	e.publishedPorts = networks.PublishedPorts
	if e.progressMode == "" {
		e.progressMode = progress.ModeAuto
	}
	if e.err == nil {
		e.err = os.Stderr
	}
	if e.out = opts.Out; e.out == nil {
		e.out = os.Stdout
	}
	if e.dryRun {
		e.images, err = openImagesDryRun(filepath.Join(root, "images"))
	} else {
		for _, d := range []string{root, e.records.ContainersDir()} {
			if err := os.MkdirAll(d, 0o711); err != nil {
				return nil, err
			}
		}
		if err := e.holdRunDir(); err != nil {
			return nil, err
		}
		e.images, err = image.Open(filepath.Join(root, "images"))
	}
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	e.runtime = &container.Runtime{RunDir: e.runDir, Exe: exe}
	if e.parallel > 0 {
		e.debugf("Limiting max concurrency to %d jobs", e.parallel)
	}
	e.nets = &networks.Manager{StateDir: filepath.Join(root, "networks"), RunDir: e.runDir, Exe: exe}
	return e, nil
}

// RunDir is the runtime directory that belongs to a state root. It is short
// (unix socket paths are limited to 108 bytes) and unique per root, so test
// suites with their own roots never share runtime state.
func RunDir(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(runBase, hex.EncodeToString(sum[:])[:12])
}

// Images gives access to the image store (the `image` commands use it).
func (e *Engine) Images() *image.Store { return e.images }

// lockProject serialises mutations of one project across compose invocations.
// It waits for another holder until ctx ends.
func (e *Engine) lockProject(ctx context.Context, name string) (*store.FileLock, error) {
	if e.dryRun { // no lock file: a dry run leaves no trace
		return &store.FileLock{}, nil
	}
	return store.Lock(ctx, filepath.Join(e.root, "locks", name+".lock"))
}

// unlockProject releases the project's lock; the lock file goes with the
// project, once it has no container left (store.Lock makes that safe for
// those waiting on it).
func (e *Engine) unlockProject(l *store.FileLock, name string) {
	if !e.dryRun {
		if left, err := e.containers(name); err == nil && len(left) == 0 {
			_ = l.Remove()
			return
		}
	}
	_ = l.Unlock()
}
