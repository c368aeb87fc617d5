// Package logs reads each container's log file in Docker's json-file
// format (read, tail, follow, across rotations; logs/jsonfile writes it)
// and renders several containers' logs as Docker Compose does:
// "web-1  | line", coloured per container, optionally with timestamps.
package logs
