package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
)

func TestParseVolumesFrom(t *testing.T) {
	tests := []struct {
		in, kind, name string
		ro             bool
	}{
		{"db", "service", "db", false},
		{"db:ro", "service", "db", true},
		{"service:db:rw", "service", "db", false},
		{"container:legacy:ro", "container", "legacy", true},
		{"container:legacy", "container", "legacy", false},
	}
	for _, tt := range tests {
		kind, name, ro := parseVolumesFrom(tt.in)
		if kind != tt.kind || name != tt.name || ro != tt.ro {
			t.Errorf("parseVolumesFrom(%q) = %s %s %v", tt.in, kind, name, ro)
		}
	}
}

func TestCheckBind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	layer := t.TempDir()
	os.MkdirAll(filepath.Join(layer, "etc"), 0o755)
	img := &image.Image{LayerDirs: []string{layer}}
	noCreate := &types.ServiceVolumeBind{CreateHostPath: false}
	tests := []struct {
		name string
		v    types.ServiceVolumeConfig
		err  error
	}{
		{"dir", types.ServiceVolumeConfig{Source: dir, Target: "/etc"}, nil},
		{"file on a file", types.ServiceVolumeConfig{Source: file, Target: "/etc/x.conf"}, nil},
		{"missing, created", types.ServiceVolumeConfig{Source: filepath.Join(dir, "new", "sub"), Target: "/d"}, nil},
		{"file on a dir", types.ServiceVolumeConfig{Source: file, Target: "/etc"}, errdefs.ErrInvalidArgument},
		{"file in the path", types.ServiceVolumeConfig{Source: filepath.Join(file, "sub"), Target: "/d"}, errdefs.ErrInvalidArgument},
		{"missing, not created", types.ServiceVolumeConfig{Source: filepath.Join(dir, "nope"), Target: "/d", Bind: noCreate}, errdefs.ErrNotFound},
	}
	for _, tt := range tests {
		err := checkBind(tt.v, img)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestFileObjectContent(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s"), []byte("from file"), 0o600)
	p := &types.Project{Environment: types.Mapping{"TOKEN": "from env"}}
	tests := []struct {
		obj  types.FileObjectConfig
		want string
		err  error
	}{
		{types.FileObjectConfig{File: filepath.Join(dir, "s")}, "from file", nil},
		{types.FileObjectConfig{Environment: "TOKEN"}, "from env", nil},
		{types.FileObjectConfig{Content: "inline"}, "inline", nil},
		{types.FileObjectConfig{File: filepath.Join(dir, "nope")}, "", errdefs.ErrNotFound},
		{types.FileObjectConfig{Environment: "UNSET"}, "", errdefs.ErrInvalidArgument},
		{types.FileObjectConfig{External: true}, "", errdefs.ErrInvalidArgument},
		{types.FileObjectConfig{}, "", errdefs.ErrInvalidArgument},
	}
	for i, tt := range tests {
		got, err := fileObjectContent(p, "secret", "s", tt.obj)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%d: err = %v, want %v", i, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("%d: = %q, %v", i, got, err)
		}
	}
}
