package record

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStore(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	save := func(project, service string, n int) *Record {
		t.Helper()
		r := &Record{ID: NewID(), Project: project, Service: service, Number: n, Name: project + "-" + service,
			Labels: map[string]string{LabelOneoff: "False"}}
		r.Dir = s.Dir(r.ID)
		if err := os.MkdirAll(r.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	web2 := save("a", "web", 2)
	save("a", "web", 1)
	save("a", "db", 1)
	save("b", "web", 1)

	got, err := s.List("a")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range got {
		order = append(order, r.DisplayName())
	}
	if len(order) != 3 || order[0] != "db-1" || order[1] != "web-1" || order[2] != "web-2" {
		t.Fatalf("List(a) = %v; want db-1 web-1 web-2", order)
	}
	if got[2].Dir != web2.Dir || got[2].LogPath() != filepath.Join(web2.Dir, web2.ID+"-json.log") {
		t.Errorf("dir %s, log %s", got[2].Dir, got[2].LogPath())
	}
	if all, _ := s.All(); len(all) != 4 {
		t.Errorf("All: %d records", len(all))
	}

	// A removed container's index entry is dropped by the next reader.
	os.RemoveAll(web2.Dir)
	if got, _ := s.List("a"); len(got) != 2 {
		t.Errorf("after removal: %d records", len(got))
	}
	if _, err := os.Lstat(filepath.Join(s.Root, "projects", "a", web2.ID)); !os.IsNotExist(err) {
		t.Errorf("index entry of a removed container kept: %v", err)
	}

	// Records written before the index existed are indexed on first read.
	os.RemoveAll(filepath.Join(s.Root, "projects"))
	if got, _ := s.List("b"); len(got) != 1 || got[0].Project != "b" {
		t.Errorf("rebuilt index: %v", got)
	}
}

// A dry run reads without writing the index.
func TestStoreDryRun(t *testing.T) {
	root := t.TempDir()
	s := &Store{Root: root}
	r := &Record{ID: NewID(), Project: "p", Service: "s", Number: 1}
	r.Dir = s.Dir(r.ID)
	os.MkdirAll(r.Dir, 0o700)
	if err := s.Save(r); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(root, "projects"))
	dry := &Store{Root: root, DryRun: true}
	if got, err := dry.List("p"); err != nil || len(got) != 1 {
		t.Fatalf("dry List: %v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(root, "projects")); !os.IsNotExist(err) {
		t.Error("a dry run wrote the index")
	}
}
