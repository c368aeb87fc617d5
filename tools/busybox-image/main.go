// Command busybox-image writes a busybox image made from Debian's
// busybox-static as a `docker save` archive (or an OCI archive with --oci),
// ready for `compose load` or `docker load`:
//
//	go run ./tools/busybox-image -o busybox.tar [-t busybox:latest] [--oci]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/composer-dev/compose/internal/busybox"
)

func main() {
	out := flag.String("o", "", "output file (required)")
	tag := flag.String("t", "busybox:latest", "image reference to tag the image with")
	oci := flag.Bool("oci", false, "write an OCI image-layout archive instead of a docker save archive")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: busybox-image -o FILE [-t REF] [--oci]")
		os.Exit(2)
	}
	write := busybox.WriteDockerArchive
	if *oci {
		write = busybox.WriteOCIArchive
	}
	if err := write(*out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "busybox-image:", err)
		os.Exit(1)
	}
}
