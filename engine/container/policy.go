package container

// RestartPolicy is Docker's restart policy; the zero value is "no".
type RestartPolicy struct{}

// Healthcheck is a container's health test, run by the supervisor.
type Healthcheck struct{}

// LogOptions rotate the container's log file (json-file max-size/max-file).
type LogOptions struct{}
