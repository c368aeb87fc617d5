package errdefs

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestMarkKeepsMessageAndClass(t *testing.T) {
	err := Mark(ErrNotFound, errors.New("no such service: x"))
	if err.Error() != "no such service: x" || !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %q, is not-found %v", err, errors.Is(err, ErrNotFound))
	}
	if Mark(ErrNotFound, nil) != nil {
		t.Fatal("Mark(nil) must be nil")
	}
}

func TestMessage(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("dependency cycle detected: a -> b -> a: %w", ErrInvalidArgument), "dependency cycle detected: a -> b -> a"},
		{fmt.Errorf("needs root: %w", ErrFailedPrecondition), "needs root"},
		{fmt.Errorf("network x: %w", ErrNotFound), "network x: not found"},
		{errors.New("plain"), "plain"},
	}
	for _, tc := range cases {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		silent bool
	}{
		{nil, 0, true},
		{Exit(0), 0, true},
		{Exit(3), 3, true},
		{fmt.Errorf("up: %w", Exit(137)), 137, true},
		{&ExitStatus{Code: 127, Msg: `exec: "nosuch": executable file not found in $PATH`}, 127, false},
		{ErrCanceled, 130, true},
		{fmt.Errorf("attach: %w", context.Canceled), 130, true},
		{fmt.Errorf("no such service: x: %w", ErrNotFound), 1, false},
	} {
		code, silent := ExitCode(tc.err)
		if code != tc.code || silent != tc.silent {
			t.Errorf("ExitCode(%v) = %d, %v; want %d, %v", tc.err, code, silent, tc.code, tc.silent)
		}
	}
}
