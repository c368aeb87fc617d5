// Package errdefs defines the error classes the whole product uses, so callers
// decide with errors.Is instead of matching strings, and main maps each class
// to an exit code in one place.
package errdefs

import "errors"

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
