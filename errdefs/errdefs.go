// Package errdefs defines the error classes the whole product uses, so callers
// decide with errors.Is instead of matching strings, and main maps each class
// to an exit code in one place.
package errdefs

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

var (
	// ErrNotFound: a named thing (service, image, container, network) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: the user gave input that can never work.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrAlreadyExists: creating something whose name is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrFailedPrecondition: the request is valid but the host or state is not ready for it.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrConflict: the thing is in use by something else.
	ErrConflict = errors.New("conflict")
)

// IsNotFound reports whether err is of class ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsInvalidArgument reports whether err is of class ErrInvalidArgument.
func IsInvalidArgument(err error) bool { return errors.Is(err, ErrInvalidArgument) }

// Mark gives err a class without changing its message, for errors whose text
// already says it all (e.g. Compose's "no such service: x").
func Mark(class, err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, class: class}
}

type marked struct{ err, class error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.class} }

// noise are classes whose text adds nothing to a message that ends with them.
var noise = []error{ErrInvalidArgument, ErrFailedPrecondition}

// Message is the one line shown to the user: err's text without a trailing
// ": invalid argument" or ": failed precondition" that only names the class.
func Message(err error) string {
	msg := err.Error()
	for _, class := range noise {
		if errors.Is(err, class) {
			msg = strings.TrimSuffix(msg, ": "+class.Error())
		}
	}
	return msg
}

// ErrCanceled: the user stopped the command (Ctrl-C); it exits 130.
var ErrCanceled = errors.New("canceled")

// ExitCoder is an error that decides the process's exit code itself: a
// container's own code passed through, or Docker's code for a command that
// could not start.
type ExitCoder interface {
	error
	ExitCode() int
}

// ExitStatus is the ExitCoder the commands return. Msg, when set, is
// printed; a bare code prints nothing (the container spoke for itself).
type ExitStatus struct {
	Code int
	Msg  string
}

func (e *ExitStatus) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// ExitCode is the status the process exits with.
func (e *ExitStatus) ExitCode() int { return e.Code }

// Exit returns the error that makes the process exit with code (nil for 0).
func Exit(code int) error {
	if code == 0 {
		return nil
	}
	return &ExitStatus{Code: code}
}

// ExitCode decides the exit code of a command that returned err, in one
// place: 0 for none, an ExitCoder's own, 130 for a cancel, else 1. Silent
// reports whether nothing is to be printed for it.
func ExitCode(err error) (code int, silent bool) {
	var ec ExitCoder
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ec):
		var st *ExitStatus
		return ec.ExitCode(), errors.As(err, &st) && st.Msg == ""
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return 130, true
	}
	return 1, false
}
