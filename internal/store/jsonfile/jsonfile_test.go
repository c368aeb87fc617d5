package jsonfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	in := map[string]int{"a": 1}
	if err := Write(path, in); err != nil {
		t.Fatal(err)
	}
	var out map[string]int
	if err := Read(path, &out); err != nil || out["a"] != 1 {
		t.Fatalf("%v %v", out, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{\n  \"a\": 1\n}" {
		t.Errorf("content %q: want indented JSON", b)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	var out map[string]int
	if err := Read(filepath.Join(dir, "missing"), &out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Read(bad, &out); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt JSON: %v, want an error naming %s", err, bad)
	}
}

func TestWriteUnmarshalable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	if err := Write(path, func() {}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed write left %s", path)
	}
}
