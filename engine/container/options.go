package container

// Options are the service options that shape a container beyond its command
// line: resources, security, devices, namespaces, tty. The zero value is
// Docker's default.
type Options struct {
	Tty       bool // allocate a pseudo-terminal for the container's init (the supervisor holds the master)
	OpenStdin bool // keep stdin open; the supervisor forwards what attached clients write
}
