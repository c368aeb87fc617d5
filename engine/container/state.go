package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store/jsonfile"
)

// exitCodeLost is reported when the supervisor died without recording an
// exit, as Docker does for a container whose shim is gone.
const exitCodeLost = 255

// ReadState returns the container's recorded state. If the supervisor died
// without recording an exit (killed, host reboot), it reports and records
// the container as exited with code 255.
func ReadState(dir string) (State, error) {
	st, err := readStateFile(dir)
	if err != nil {
		return State{}, err
	}
	if !active(st) || supervisorAlive(st.SupervisorPid, st.SupervisorStart) {
		return st, nil
	}
	// The supervisor records the exit and then exits: it may have done both
	// since the first read. Only a second read that still says active is stale.
	if st, err = readStateFile(dir); err != nil || !active(st) {
		return st, err
	}
	// Nobody holds the container's stdio or records its exit any more: it
	// goes with its supervisor. Killing the init of a pid namespace kills all
	// of it; the start time check never hits a reused pid.
	if st.Pid > 0 && st.InitStart != 0 && procStart(st.Pid) == st.InitStart {
		_ = unix.Kill(st.Pid, unix.SIGKILL)
	}
	st.Status = StatusExited
	st.ExitCode = exitCodeLost
	st.Pid = 0
	st.SupervisorPid, st.SupervisorStart = 0, 0
	if st.FinishedAt.IsZero() {
		st.FinishedAt = time.Now().UTC()
	}
	if st.Error == "" {
		st.Error = "supervisor exited without recording the container's exit"
	}
	// Best effort: a reader without write access still gets the right
	// answer. The mark comes first, so a run recorded as lost is repaired.
	markRepair(dir)
	_ = writeState(dir, st)
	return st, nil
}

// markRepair marks the container in dir as left by a dead supervisor
// (supervisor.RepairFile): Repair, or the next start, tears down what the
// run holds.
func markRepair(dir string) {
	if f, err := os.OpenFile(filepath.Join(dir, supervisor.RepairFile), os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
}

// active reports whether a supervisor claims to be looking after the container.
func active(s State) bool { return s.Active() }

// live reports whether the container runs, is being started or waits to be
// restarted by a live supervisor.
func live(s State) bool { return s.Live() }

func readStateFile(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("container state in %q: %w", dir, errdefs.ErrNotFound)
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		// A torn or corrupt file (e.g. a crash on a filesystem without
		// rename atomicity) must not wedge the container: treat it as lost.
		return State{Status: StatusExited, ExitCode: exitCodeLost, Error: "unreadable state file"}, nil
	}
	return st, nil
}

func writeState(dir string, st State) error {
	return jsonfile.Write(filepath.Join(dir, stateFile), st)
}

// procStart returns a process's start time (clock ticks since boot), or 0 if
// it does not exist.
func procStart(pid int) uint64 { return supervisor.ProcStart(pid) }

func supervisorAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	s := procStart(pid)
	return s != 0 && (start == 0 || s == start)
}
