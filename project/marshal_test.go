package project

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/composer-dev/compose/errdefs"
)

func TestMarshal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mproj")
	writeFiles(t, dir, map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n    command: echo $$HOME\n    ports: ['8080:80']\n"})
	p, err := Load(t.Context(), Options{WorkDir: dir, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}

	y, err := Marshal(p, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(y, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["name"] != "mproj" {
		t.Errorf("name %v", doc["name"])
	}
	if !strings.Contains(string(y), "$$HOME") {
		t.Errorf("dollar not escaped:\n%s", y)
	}

	j, err := Marshal(p, "json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, j)
	}
	if _, ok := doc["services"].(map[string]any)["web"]; !ok {
		t.Errorf("json without web: %s", j)
	}

	if _, err := Marshal(p, "toml"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("toml: %v", err)
	}
}

func TestLoadModelNoInterpolate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raw")
	writeFiles(t, dir, map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:${TAG}\n    ports: ['${PORT}:80']\n"})
	m, err := LoadModel(t.Context(), Options{WorkDir: dir, Environ: []string{"TAG=1"}, NoInterpolate: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalModel(m, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "nginx:${TAG}") {
		t.Errorf("interpolated anyway:\n%s", out)
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\n", "a\nx\nc\n")
	if !strings.Contains(got, "first difference at line 2") || !strings.Contains(got, `want    2: "b"`) || !strings.Contains(got, `have    2: "x"`) {
		t.Errorf("lineDiff:\n%s", got)
	}
}

// TestMarshalJSONKeyOrder: `config --format json` lists a service's keys in
// the order Docker Compose's YAML does (both follow compose-go's
// ServiceConfig fields; json.MarshalIndent with two spaces).
func TestMarshalJSONKeyOrder(t *testing.T) {
	t.Setenv("HOME", "/root")
	dir := filepath.Join(t.TempDir(), "flask-redis")
	copyTree(t, filepath.Join(corpusDir(t), "flask-redis"), dir)
	p, err := Load(t.Context(), Options{WorkDir: dir, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(p, "json")
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(out, &top); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var services map[string]json.RawMessage
	if err := json.Unmarshal(top["services"], &services); err != nil {
		t.Fatal(err)
	}
	web, err := decodeObject(services["web"])
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range web {
		keys = append(keys, m.key)
	}
	// Docker Compose's YAML for this service (expected.config.yaml): build,
	// depends_on, networks, ports, stop_signal, volumes; JSON adds the
	// non-omitempty command and entrypoint in their places.
	want := []string{"build", "command", "depends_on", "entrypoint", "networks", "ports", "stop_signal", "volumes"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("web's keys: %v, want %v", keys, want)
	}
	if !strings.HasPrefix(string(out), "{\n  \"name\": \"flask-redis\",\n") {
		t.Errorf("not indented as json.MarshalIndent(..., \"  \"):\n%s", out[:min(len(out), 80)])
	}
}
