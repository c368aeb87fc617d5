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

func TestYAMLDiff(t *testing.T) {
	var a, b any
	_ = yaml.Unmarshal([]byte("x: {y: [1, 2], z: a}"), &a)
	_ = yaml.Unmarshal([]byte("x: {y: [1, 3], w: a}"), &b)
	got := yamlDiff("", a, b)
	if len(got) != 3 {
		t.Errorf("diffs %q", got)
	}
}
