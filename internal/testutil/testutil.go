// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"testing"
)

// RequiresRoot skips a test that needs root when not running as root.
// In CI (CI=true) the suite runs as root, so a missing root there is a failure,
// never a silent skip.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root and CI runs as root")
	}
	t.Skip("needs root")
}
