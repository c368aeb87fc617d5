package image

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Temporary files and directories carry the creating process's pid, so a
// later process can tell leftovers of a crash from work in progress.
const tmpMarker = ".tmp-"

func tempPrefix() string { return tmpMarker + strconv.Itoa(os.Getpid()) + "-" }

// sweepStale removes temporaries in dir left by processes that no longer run.
func sweepStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), tmpMarker)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
