package export

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/composer-dev/compose/internal/store"
)

// Header starts every file export writes; a file of the output directory
// that starts with it and was not written again is a leftover, removed.
const Header = "# Exported by compose k8s export"

// Unstructured returns the objects as Kubernetes takes them in an apply:
// without the empty status and null creation timestamps of Go's types.
func (m *Manifest) Unstructured() ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(m.Objects))
	for _, o := range m.Objects {
		var u map[string]any
		if uo, ok := o.(*unstructured.Unstructured); ok {
			u = uo.DeepCopy().Object
		} else {
			var err error
			if u, err = runtime.DefaultUnstructuredConverter.ToUnstructured(o); err != nil {
				return nil, err
			}
		}
		delete(u, "status")
		tidy(u)
		out = append(out, &unstructured.Unstructured{Object: u})
	}
	return out, nil
}

// tidy drops what Go's types add and says nothing: null creation
// timestamps, and empty resources and update strategies.
func tidy(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			if k == "creationTimestamp" {
				delete(m, k)
			}
		case map[string]any:
			if len(v) == 0 && (k == "resources" || k == "strategy" || k == "updateStrategy") {
				delete(m, k)
				continue
			}
			tidy(v)
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					tidy(em)
				}
			}
		}
	}
}

// Document is one object as YAML (keys sorted, as kubectl prints them).
func Document(u *unstructured.Unstructured) ([]byte, error) {
	return yaml.Marshal(u.Object)
}

// WriteStream writes every object to w, as one YAML stream (documents
// separated by ---) that kubectl apply -f - takes.
func (m *Manifest) WriteStream(w io.Writer) error {
	objs, err := m.Unstructured()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s from project %q.\n", Header, m.Project)
	for i, u := range objs {
		doc, err := Document(u)
		if err != nil {
			return err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// FileName is the name of the i-th object's file: its position in apply
// order first, so that kubectl apply -f DIR (which takes files by name)
// creates the namespace first and the rest in the same order.
func FileName(i int, u *unstructured.Unstructured) string {
	return fmt.Sprintf("%02d-%s-%s.yaml", i, strings.ToLower(u.GetKind()), u.GetName())
}

var fileNameRE = regexp.MustCompile(`^[0-9]+-[a-z]+-.+\.yaml$`)

// WriteDir writes one file per object into dir (made if missing), each
// atomically (temp file, fsync, rename), then removes the files a
// previous export left there that this one did not write. It returns the
// paths written.
func (m *Manifest) WriteDir(dir string) ([]string, error) {
	objs, err := m.Unstructured()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	written := map[string]bool{}
	var paths []string
	for i, u := range objs {
		doc, err := Document(u)
		if err != nil {
			return nil, err
		}
		name := FileName(i, u)
		data := append([]byte(fmt.Sprintf("%s from project %q.\n", Header, m.Project)), doc...)
		p := filepath.Join(dir, name)
		if err := store.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		written[name] = true
		paths = append(paths, p)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if written[e.Name()] || !e.Type().IsRegular() || !fileNameRE.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if ours(p) {
			if err := os.Remove(p); err != nil {
				return nil, err
			}
		}
	}
	return paths, nil
}

// ours reports whether the file at p was written by export.
func ours(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(Header))
	_, err = io.ReadFull(f, buf)
	return err == nil && string(buf) == Header
}
