// Package store holds the on-disk primitives every part of compose shares
// for its state: atomic file replacement (durable or volatile) and a
// cross-process file lock that honours context cancellation.
//
// It is imported by the per-container supervisor, whose memory is a product
// cost: it must stay free of encoding/json and fmt (see store/jsonfile for
// JSON records).
package store

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriteFile replaces path atomically and durably: temp file, fsync, rename,
// fsync of the directory. A crash leaves either the old or the new content,
// never a torn file. perm is applied exactly (the umask does not narrow it).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, true)
}

// WriteFileVolatile replaces path atomically like WriteFile but does not
// wait for the disk (two fsyncs, a millisecond or more): for records that a
// crash makes stale anyway, such as a live process's state. After a crash
// the file may hold the old content or be empty; Sync makes it durable.
func WriteFileVolatile(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, false)
}

func writeFile(path string, data []byte, perm os.FileMode, durable bool) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if durable {
		return f.Commit()
	}
	return f.CommitVolatile()
}

// Sync waits until path, written with WriteFileVolatile, and its name are
// on disk: WriteFileVolatile and Sync together are WriteFile, with the wait
// done when the caller chooses.
func Sync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// File is the pending replacement of a file: written to a temporary file in
// the same directory, it takes the final name only on Commit, so a reader
// sees the old content or the whole new one. Use it to stream content too
// large to hold in memory; defer Abort to drop it on error.
type File struct {
	f    *os.File
	path string
	perm os.FileMode
	done bool
}

// Create starts the replacement of path with mode perm. The temporary
// file's name starts with a dot and the final name (".NAME.tmp…"), so
// directory listings that skip dot files never see it.
func Create(path string, perm os.FileMode) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	return &File{f: f, path: path, perm: perm}, nil
}

// Write appends p to the pending content.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Commit makes the content durable and renames it over the final name,
// then syncs the directory so the rename survives a crash too.
func (f *File) Commit() error { return f.commit(true) }

// CommitVolatile renames the content over the final name without waiting
// for the disk (see WriteFileVolatile).
func (f *File) CommitVolatile() error { return f.commit(false) }

func (f *File) commit(durable bool) error {
	if f.done {
		return &os.PathError{Op: "commit", Path: f.path, Err: os.ErrClosed}
	}
	f.done = true
	tmp := f.f.Name()
	err := f.f.Chmod(f.perm)
	if err == nil && durable {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if durable {
		return SyncDir(filepath.Dir(f.path))
	}
	return nil
}

// Abort drops the pending content; a no-op after Commit or a second Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// SyncDir makes the names in dir durable, for writers that rename a file
// into place themselves (content-addressed blobs, whose name is known only
// once written). File systems that cannot sync a directory (EINVAL) have
// nothing more to do.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	if errors.Is(err, unix.EINVAL) {
		return nil
	}
	return err
}
