package networks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// Network names follow Docker's rule so they are valid file names too.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$`)

func validName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 255 characters: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

func recordPath(stateDir, name string) string {
	return filepath.Join(stateDir, name+".json")
}

// lock serialises changes of the records across compose invocations.
func (m *Manager) lock(ctx context.Context) (*store.FileLock, error) {
	return store.Lock(ctx, filepath.Join(m.StateDir, ".lock"))
}

func readRecord(path string) (*Network, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var n Network
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("network record %s: %w", path, err)
	}
	return &n, nil
}

// load reads one record; errdefs.ErrNotFound when absent.
func (m *Manager) load(name string) (*Network, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	n, err := readRecord(recordPath(m.StateDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network %q: %w", name, errdefs.ErrNotFound)
	}
	return n, err
}

func (m *Manager) save(n *Network) error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFile(recordPath(m.StateDir, n.Name), data, 0o644)
}

// listRecords reads every record in stateDir, sorted by name.
func listRecords(stateDir string) ([]Network, error) {
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Network
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") || e.IsDir() {
			continue
		}
		n, err := readRecord(filepath.Join(stateDir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
