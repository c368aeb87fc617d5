package container

// Options are the service options that shape a container beyond its command
// line: resources, security, devices, namespaces, tty. The zero value is
// Docker's default.
type Options struct{}
