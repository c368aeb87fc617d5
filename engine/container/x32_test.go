package container

import (
	"runtime"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestSeccompArchesFollowKernel: the default filter covers the native
// architecture and its compat ones, but x32 only where the kernel runs x32
// syscalls (each architecture costs milliseconds at every start).
func TestSeccompArchesFollowKernel(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x32 exists on amd64 only")
	}
	sc, err := seccompFor(&Options{}, defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []specs.Arch{specs.ArchX86_64, specs.ArchX86} {
		if !slices.Contains(sc.Architectures, a) {
			t.Errorf("architectures %v lack %s", sc.Architectures, a)
		}
	}
	if got := slices.Contains(sc.Architectures, specs.ArchX32); got != kernelRunsX32() {
		t.Errorf("x32 in the filter: %v, kernel runs x32: %v", got, kernelRunsX32())
	}
	if got := usableSubArches([]specs.Arch{specs.ArchX86, specs.ArchX32}); !kernelRunsX32() && !slices.Equal(got, []specs.Arch{specs.ArchX86}) {
		t.Errorf("usableSubArches = %v, want [x86]", got)
	}
}
