package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// blobWriter writes a blob to a temporary file while hashing it; commit
// checks the digest and renames it into place, so a blob in blobs/ is
// always complete and verified.
type blobWriter struct {
	f    *os.File
	h    hash.Hash
	n    int64
	done bool
}

func (s *Store) newBlobWriter() (*blobWriter, error) {
	f, err := os.CreateTemp(s.blobDir(), tempPrefix())
	if err != nil {
		return nil, err
	}
	return &blobWriter{f: f, h: sha256.New()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// commit verifies the content against want and moves it to its final name.
func (w *blobWriter) commit(s *Store, want v1.Hash) error {
	got := hex.EncodeToString(w.h.Sum(nil))
	if want.Algorithm != "sha256" || got != want.Hex {
		w.abort()
		return fmt.Errorf("blob %s: content has digest sha256:%s: %w", want, got, errdefs.ErrInvalidArgument)
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Close(); err != nil {
		w.abort()
		return err
	}
	w.done = true
	if err := os.Rename(w.f.Name(), s.blobPath(want)); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	return store.SyncDir(s.blobDir())
}

// abort drops the temporary file; harmless after commit.
func (w *blobWriter) abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

func (s *Store) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }

func (s *Store) blobPath(h v1.Hash) string { return filepath.Join(s.blobDir(), h.Hex) }
