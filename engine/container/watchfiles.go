package container

import (
	"os"
	"path/filepath"

	"github.com/composer-dev/compose/engine/container/supervisor"
)

// Files in a container's directory whose changes a watcher (`events`)
// looks at: the supervisor's state, the user's stop request and pause.
const (
	StateFileName  = supervisor.StateFile
	StopFileName   = supervisor.StopFile
	PausedFileName = supervisor.PausedFile
)

// StopRequested reports whether the user stopped (or killed) the container.
func StopRequested(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, supervisor.StopFile))
	return err == nil
}
