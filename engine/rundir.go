package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/networks"
)

// The runtime dir of a state root (RunDir) exists only while something
// uses it. Every compose process working on the root (each command's
// Engine, the DNS server) holds a shared lock on the directory; whichever
// of them finishes last, finding no container and no network left,
// removes what remains of it: lock files and empty directories.

// runDirWait bounds the wait for the runtime dir while another process
// removes it (that takes milliseconds).
const runDirWait = 30 * time.Second

// holdRunDir creates the runtime dir if needed and holds it until Close.
func (e *Engine) holdRunDir() error {
	ctx, cancel := context.WithTimeout(context.Background(), runDirWait)
	defer cancel()
	l, err := store.ShareDir(ctx, e.runDir)
	if err != nil {
		return err
	}
	e.runHold = l
	return nil
}

// Close ends the engine's use of its state root: it lets go of the
// runtime dir, and removes the dir when nothing uses it any more. The
// engine must not be used after.
func (e *Engine) Close() error {
	if e.runHold == nil {
		return nil
	}
	_ = e.runHold.Unlock()
	e.runHold = nil
	return PruneRunDir(e.root)
}

// ServeDNS is the DNS server process of a state root (`__dns STATE_DIR
// RUN_DIR`): once the server ends (no network left), the root's runtime
// dir goes too if nothing else uses it.
func ServeDNS(ctx context.Context, stateDir, runDir string) error {
	err := networks.ServeDNSMain(ctx, stateDir, runDir)
	if root := filepath.Dir(stateDir); RunDir(root) == runDir {
		_ = PruneRunDir(root)
	}
	return err
}

// skeleton lists the files of a runtime dir that mean nothing once no
// container and no network is left (those of the DNS server).
var skeleton = []string{"dns.lock", "dns.pid", "ports.sock"}

// PruneRunDir removes the runtime dir of root if no compose process holds
// it and the root has no container and no network left. What it does not
// know (a mount, a file of some container) stays, and so does the dir.
func PruneRunDir(root string) error {
	return pruneRunDir(root, RunDir(root))
}

func pruneRunDir(root, runDir string) error {
	l, err := store.TryLockDir(runDir)
	if err != nil || l == nil {
		return err // gone, or in use
	}
	if used, err := rootInUse(root); err != nil || used {
		_ = l.Unlock()
		return err
	}
	var paths []string
	_ = filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && path != runDir && (d.IsDir() || filepath.Dir(path) == runDir && slices.Contains(skeleton, d.Name())) {
			paths = append(paths, path)
		}
		return nil
	})
	for _, p := range slices.Backward(paths) { // contents before their directory
		_ = os.Remove(p) // a directory that is not empty stays
	}
	if ents, err := os.ReadDir(runDir); err != nil || len(ents) > 0 {
		_ = l.Unlock()
		return err
	}
	return l.Remove()
}

// rootInUse reports whether the state root has a container (a directory
// of one, even half made) or a network.
func rootInUse(root string) (bool, error) {
	ents, err := os.ReadDir(filepath.Join(root, "containers"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if len(ents) > 0 {
		return true, nil
	}
	nets, err := (&networks.Manager{StateDir: filepath.Join(root, "networks")}).List()
	return len(nets) > 0, err
}
