// Package errdefs defines the error classes the whole product uses, so callers
// decide with errors.Is instead of matching strings, and main maps each class
// to an exit code in one place.
package errdefs

import (
	"errors"
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
