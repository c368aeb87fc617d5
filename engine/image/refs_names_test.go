package image

import (
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

// Docker's reference grammar decides what names an image may have: a path
// climbing out ("../../x") or upper case is refused with a reason.
func TestNormalizeRefusesBadNames(t *testing.T) {
	for _, ref := range []string{"../../x:1", "a/../b", "UPPER", "x:tag with space", ""} {
		if _, err := Normalize(ref); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "invalid reference format") {
			t.Errorf("Normalize(%q) = %v", ref, err)
		}
	}
	for ref, want := range map[string]string{
		"busybox":                  "docker.io/library/busybox:latest",
		"me/app:1":                 "docker.io/me/app:1",
		"127.0.0.1:5000/a/b:c":     "127.0.0.1:5000/a/b:c",
		"registry.example/x/y.z_w": "registry.example/x/y.z_w:latest",
	} {
		if got, err := Normalize(ref); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
}
