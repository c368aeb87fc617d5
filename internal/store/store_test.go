package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, content := range []string{"one", "two"} {
		if err := WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	assertOnly(t, dir, "f.json")
}

// TestPermsApplied: the mode is the one asked for, whatever the umask and
// whatever mode the replaced file had.
func TestPermsApplied(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, tc := range []struct {
		write func(string, []byte, os.FileMode) error
		perm  os.FileMode
	}{
		{WriteFile, 0o644},
		{WriteFile, 0o600},
		{WriteFileVolatile, 0o604},
		{WriteFileVolatile, 0o400},
	} {
		if err := tc.write(path, []byte("x"), tc.perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
		}
	}
}

// TestNoTornReads: a reader racing with a writer always sees one whole
// version of the file, never a mix or a prefix.
func TestNoTornReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	versions := [][]byte{bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 300<<10)}
	if err := WriteFile(path, versions[0], 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read %d: %v", i, err)
				return
			}
			if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
				t.Errorf("read %d: a torn file of %d bytes", i, len(got))
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		write := WriteFileVolatile
		if i%20 == 0 {
			write = WriteFile
		}
		if err := write(path, versions[i%2], 0o600); err != nil {
			t.Error(err)
			break
		}
	}
	close(done)
	wg.Wait()
}

func TestWriteFileVolatileThenSync(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteFileVolatile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Sync(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "one" {
		t.Fatalf("read %q, %v", got, err)
	}
	assertOnly(t, dir, "f")
	if err := Sync(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Sync of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestWriteFileErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "f")
	err := WriteFile(path, []byte("x"), 0o600)
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want a *fs.PathError of class fs.ErrNotExist", err)
	}
}

// TestFileStreams: a File shows nothing at the final name until Commit,
// and Abort leaves nothing behind.
func TestFileStreams(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "archive.tar")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}

	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	f.Abort() // twice is fine
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("after Abort: %q, want the old content", got)
	}
	assertOnly(t, dir, "archive.tar")

	f, err = Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort() // a no-op after Commit
	f.Write([]byte("new "))
	f.Write([]byte("content"))
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("before Commit: %q, want the old content", got)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new content" {
		t.Fatalf("after Commit: %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	assertOnly(t, dir, "archive.tar")
}

// assertOnly fails unless dir holds exactly names (no temporary left).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
	for i := range names {
		if got[i] != names[i] {
			t.Fatalf("%s holds %v, want %v", dir, got, names)
		}
	}
}
