package container

import (
	"sync"
	"syscall"
)

// x32Syscall is the bit that marks a syscall number as the x32 ABI's.
const x32Syscall = 0x40000000

// kernelRunsX32 reports whether the kernel accepts x32 syscalls (most
// distribution kernels build the ABI in but leave it off). A getpid with
// the x32 bit set either works or fails with ENOSYS.
var kernelRunsX32 = sync.OnceValue(func() bool {
	_, _, errno := syscall.RawSyscall(x32Syscall|syscall.SYS_GETPID, 0, 0, 0)
	return errno == 0
})
