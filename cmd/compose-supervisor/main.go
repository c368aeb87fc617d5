// Command compose-supervisor is the small process that looks after one
// running container (see engine/container/supervisor). The compose binary
// starts it from the same directory; it is not meant to be run by hand.
package main

import (
	"os"

	"github.com/composer-dev/compose/engine/container/supervisor"
)

func main() {
	os.Exit(supervisor.Main(os.Args[1:]))
}
