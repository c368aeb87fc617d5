package container

import (
	"errors"
	"strings"

	"github.com/composer-dev/compose/errdefs"
)

// StartError is a failed start as reported by the supervisor. Its message is
// the cause alone, like Docker's (`exec: "foo": executable file not found in
// $PATH`); errors.Is matches its class (an errdefs error), and ExitCode is
// what Docker reports for such a start (127 not found, 126 not executable).
type StartError struct {
	Msg      string
	ExitCode int
	Class    error
}

func (e *StartError) Error() string { return e.Msg }
func (e *StartError) Unwrap() error { return e.Class }

// classes are the errdefs classes carried across the supervisor's pipe by name.
var classes = []error{
	errdefs.ErrNotFound, errdefs.ErrInvalidArgument, errdefs.ErrAlreadyExists,
	errdefs.ErrFailedPrecondition, errdefs.ErrConflict,
}

func className(err error) string {
	for _, c := range classes {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return ""
}

func classByName(name string) error {
	for _, c := range classes {
		if c.Error() == name {
			return c
		}
	}
	return nil
}

// initCause strips libcontainer's layers ("unable to start container
// process: error during container init: ...") down to the cause.
func initCause(err error) string {
	msg := err.Error()
	const marker = "error during container init: "
	if i := strings.LastIndex(msg, marker); i >= 0 {
		msg = msg[i+len(marker):]
	}
	// A multi-line message would break one-line error output.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// startExitCode is the exit code Docker records for a container that could
// not start with this message.
func startExitCode(msg string) int {
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		return 127
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "is a directory"):
		return 126
	}
	return 128
}
