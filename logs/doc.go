// Package logs keeps each container's output in a log file in Docker's
// json-file format (write, rotate, read, tail, follow) and renders several
// containers' logs as Docker Compose does: "web-1  | line", coloured per
// container, optionally with timestamps.
package logs
