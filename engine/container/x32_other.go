//go:build !amd64

package container

// kernelRunsX32: the x32 ABI exists on amd64 kernels only.
func kernelRunsX32() bool { return false }
