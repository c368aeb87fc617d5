package image

import (
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, full, familiar string
		bad                bool
	}{
		{in: "busybox", full: "docker.io/library/busybox:latest", familiar: "busybox:latest"},
		{in: "busybox:1.36", full: "docker.io/library/busybox:1.36", familiar: "busybox:1.36"},
		{in: "library/busybox", full: "docker.io/library/busybox:latest", familiar: "busybox:latest"},
		{in: "docker.io/library/busybox:latest", full: "docker.io/library/busybox:latest", familiar: "busybox:latest"},
		{in: "index.docker.io/busybox", full: "docker.io/library/busybox:latest", familiar: "busybox:latest"},
		{in: "me/app:dev", full: "docker.io/me/app:dev", familiar: "me/app:dev"},
		{in: "docker.io/library/a/b", full: "docker.io/library/a/b:latest", familiar: "library/a/b:latest"},
		{in: "localhost:5000/app:1", full: "localhost:5000/app:1", familiar: "localhost:5000/app:1"},
		{in: "ghcr.io/o/r", full: "ghcr.io/o/r:latest", familiar: "ghcr.io/o/r:latest"},
		{in: "busybox@sha256:" + sixtyFour, full: "docker.io/library/busybox@sha256:" + sixtyFour, familiar: "busybox@sha256:" + sixtyFour},
		{in: "UPPER", bad: true},
		{in: "", bad: true},
		{in: "a b", bad: true},
	}
	for _, tt := range tests {
		full, err := Normalize(tt.in)
		if tt.bad {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("Normalize(%q) = %q, %v; want invalid argument", tt.in, full, err)
			}
			continue
		}
		if err != nil || full != tt.full {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, full, err, tt.full)
		}
		if f := Familiar(full); f != tt.familiar {
			t.Errorf("Familiar(%q) = %q, want %q", full, f, tt.familiar)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
