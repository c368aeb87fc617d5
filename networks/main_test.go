package networks

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary be the DNS server's Exe, like main does.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "__dns" {
		if err := ServeDNSMain(context.Background(), os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
