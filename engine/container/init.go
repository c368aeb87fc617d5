package container

import (
	"os"
	"runtime"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's cgo constructor sets up namespaces before the Go runtime
	// starts when the binary is re-executed as libcontainer's init.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// InitIfRequested turns the process into libcontainer's container init when
// started as `<exe> init`, and never returns then. main calls it first.
func InitIfRequested() {
	if len(os.Args) < 2 || os.Args[1] != "init" {
		return
	}
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	libcontainer.Init()
}
