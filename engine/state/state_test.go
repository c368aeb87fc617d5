package state

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
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
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	in := map[string]int{"a": 1}
	if err := WriteJSON(path, in); err != nil {
		t.Fatal(err)
	}
	var out map[string]int
	if err := ReadJSON(path, &out); err != nil || out["a"] != 1 {
		t.Fatalf("%v %v", out, err)
	}
	os.WriteFile(path, []byte("{"), 0o600)
	if err := ReadJSON(path, &out); err == nil {
		t.Fatal("corrupt JSON must be an error")
	}
}

// TestLockExcludes: read-increment-write of a counter file under the lock,
// from many goroutines each with its own open file (as separate processes
// would have), never loses an update.
func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	lockPath, counter := filepath.Join(dir, "x.lock"), filepath.Join(dir, "n")
	os.WriteFile(counter, []byte("0"), 0o600)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Acquire(lockPath)
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Unlock()
			b, _ := os.ReadFile(counter)
			n, _ := strconv.Atoi(string(b))
			if err := WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if b, _ := os.ReadFile(counter); string(b) != "20" {
		t.Fatalf("counter %s, want 20", b)
	}
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
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
	if err := Sync(filepath.Join(dir, "missing")); err == nil {
		t.Error("Sync of a missing file succeeded")
	}
}
