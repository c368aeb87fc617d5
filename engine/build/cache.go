package build

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/composer-dev/compose/internal/store"
)

// cache maps a step's key to the image config the step produced (with its
// layers' diff IDs; the layers live in the image store). A hit is used only
// while every layer it names is still stored. Each entry is one file
// written by atomic rename, so concurrent builds never see half an entry.
type cache struct {
	dir string
}

// stepKey chains a step to its parent: the key changes when the parent,
// the instruction or any of its inputs do.
func stepKey(parent string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(parent))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *cache) path(key string) string { return filepath.Join(c.dir, key[:2], key+".json") }

// get returns the config recorded for key, if any.
func (c *cache) get(key string) ([]byte, bool) {
	if c == nil || c.dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	return b, true
}

// put records the config a step produced.
func (c *cache) put(key string, raw []byte) error {
	if c == nil || c.dir == "" {
		return nil
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	// Volatile: an entry lost in a crash is a cache miss, not worth an
	// fsync on every step.
	return store.WriteFileVolatile(p, raw, 0o600)
}
