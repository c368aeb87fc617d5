// Package jsonfile reads and writes JSON records through internal/store's
// atomic, durable writes. It is apart from store so that the per-container
// supervisor, which imports store, does not gain encoding/json and fmt.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/composer-dev/compose/internal/store"
)

// Write marshals v (indented) and replaces path with it atomically and
// durably, readable by its owner only.
func Write(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return store.WriteFile(path, data, 0o600)
}

// Read unmarshals path into v. A missing file is fs.ErrNotExist; content
// that is not JSON is an error naming path.
func Read(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
