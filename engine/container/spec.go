package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/composer-dev/compose/errdefs"
	"golang.org/x/sys/unix"
)

// savedSpec is the content of Dir/spec.json: the spec plus where the
// supervisor keeps libcontainer's state.
type savedSpec struct {
	Spec
	RunDir string `json:",omitempty"`
	Exe    string `json:",omitempty"` // the full binary, which the supervisor runs
}

// ReadSpec returns the spec saved by Start in dir.
func ReadSpec(dir string) (Spec, error) {
	s, err := readSaved(dir)
	return s.Spec, err
}

func readSaved(dir string) (savedSpec, error) {
	var s savedSpec
	b, err := os.ReadFile(filepath.Join(dir, specFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("container spec in %q: %w", dir, errdefs.ErrNotFound)
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("container spec in %q: %w", dir, err)
	}
	return s, nil
}

// validate checks what can be checked without the image.
func validateSpec(s *Spec) error {
	if !validID(s.ID) {
		return fmt.Errorf("container id %q: must be 1-64 characters of [0-9a-zA-Z_.-]: %w", s.ID, errdefs.ErrInvalidArgument)
	}
	if len(s.Args) == 0 || s.Args[0] == "" {
		return fmt.Errorf("container %s: no command specified: %w", s.DisplayName(), errdefs.ErrInvalidArgument)
	}
	if !filepath.IsAbs(s.Dir) {
		return fmt.Errorf("container %s: dir %q must be absolute: %w", s.DisplayName(), s.Dir, errdefs.ErrInvalidArgument)
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("container %s: dir %q: %w", s.DisplayName(), s.Dir, errdefs.ErrNotFound)
	}
	if s.Cwd != "" && !filepath.IsAbs(s.Cwd) {
		return fmt.Errorf("container %s: working dir %q must be absolute: %w", s.DisplayName(), s.Cwd, errdefs.ErrInvalidArgument)
	}
	for _, m := range s.Mounts {
		if (m.Type != "tmpfs" && !filepath.IsAbs(m.Source)) || !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("container %s: mount %s:%s: paths must be absolute: %w", s.DisplayName(), m.Source, m.Destination, errdefs.ErrInvalidArgument)
		}
	}
	if _, err := parseSignal(s.StopSignal); err != nil {
		return fmt.Errorf("container %s: %w", s.DisplayName(), err)
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > 64 || id == "." || id == ".." {
		return false
	}
	for _, c := range id {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// ParseSignal accepts "SIGTERM", "TERM", "term" or "15"; "" is SIGTERM.
func ParseSignal(s string) (syscall.Signal, error) { return parseSignal(s) }

// parseSignal accepts "", "SIGTERM", "TERM", "term" or "15".
func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return unix.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q: %w", s, errdefs.ErrInvalidArgument)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: %w", s, errdefs.ErrInvalidArgument)
}
