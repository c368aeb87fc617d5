package errdefs

import (
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
