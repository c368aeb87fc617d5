package image

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/busybox"
)

func TestInspect(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	bb := mustBusybox(t)
	cfg, err := bb.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Author = "me"
	cfg.Variant = "v8"
	cfg.Config.Entrypoint = []string{"/bin/sh", "-c"}
	cfg.Config.WorkingDir = "/srv"
	cfg.Config.User = "www-data"
	cfg.Config.Labels = map[string]string{"a": "b"}
	cfg.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	cfg.Config.Volumes = map[string]struct{}{"/data": {}}
	cfg.Config.StopSignal = "SIGQUIT"
	cfg.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "true"}, Interval: 5 * time.Second, Retries: 3}
	img, err := mutate.ConfigFile(bb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := mustAdd(t, s, img, "web:1", "localhost:5000/web:1")

	info, err := s.Inspect("web:1")
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != id || !slices.Equal(info.RepoTags, []string{"localhost:5000/web:1", "web:1"}) {
		t.Errorf("Id %s RepoTags %v", info.ID, info.RepoTags)
	}
	if info.Created != "2024-01-01T00:00:00Z" || info.Os != "linux" || info.Variant != "v8" || info.Author != "me" {
		t.Errorf("Created %q Os %q Variant %q Author %q", info.Created, info.Os, info.Variant, info.Author)
	}
	if info.Size != mustGet(t, s, id).Size || info.Size == 0 {
		t.Errorf("Size %d", info.Size)
	}
	if info.RootFS.Type != "layers" || !slices.Equal(info.RootFS.Layers, diffIDs(t, img)) {
		t.Errorf("RootFS %+v", info.RootFS)
	}

	// The JSON has Docker's field names and shapes.
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	wantTop := []string{"Architecture", "Author", "Comment", "Config", "Created", "DockerVersion", "Id", "Metadata",
		"Os", "Parent", "RepoDigests", "RepoTags", "RootFS", "Size", "Variant"}
	if got := keys(m); !slices.Equal(got, wantTop) {
		t.Errorf("top-level keys %v, want %v", got, wantTop)
	}
	wantConfig := []string{"AttachStderr", "AttachStdin", "AttachStdout", "Cmd", "Domainname", "Entrypoint", "Env",
		"ExposedPorts", "Healthcheck", "Hostname", "Image", "Labels", "OnBuild", "OpenStdin", "StdinOnce", "StopSignal",
		"Tty", "User", "Volumes", "WorkingDir"}
	if got := keys(m["Config"].(map[string]any)); !slices.Equal(got, wantConfig) {
		t.Errorf("Config keys %v, want %v", got, wantConfig)
	}
	for _, want := range []string{
		`"RepoDigests":[]`,
		`"Metadata":{"LastTagTime":"0001-01-01T00:00:00Z"}`,
		`"ExposedPorts":{"80/tcp":{}}`,
		`"Healthcheck":{"Test":["CMD","true"],"Interval":5000000000,"Retries":3}`,
		`"RootFS":{"Type":"layers","Layers":["sha256:`,
		`"OnBuild":null`,
		`"Entrypoint":["/bin/sh","-c"]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
}

func TestInspectLookup(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	id := mustAdd(t, s, mustBusybox(t))
	tests := []struct {
		ref   string
		class error
	}{
		{ref: id},
		{ref: strings.TrimPrefix(id, "sha256:")[:12]},
		{ref: "busybox", class: errdefs.ErrNotFound},
		{ref: "Bad Ref", class: errdefs.ErrNotFound},
	}
	for _, tt := range tests {
		info, err := s.Inspect(tt.ref)
		if tt.class != nil {
			if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), tt.ref) {
				t.Errorf("Inspect(%q) error %v, want not found naming it", tt.ref, err)
			}
			continue
		}
		if err != nil || info.ID != id {
			t.Errorf("Inspect(%q) = %v, %v", tt.ref, info, err)
			continue
		}
		// An untagged image has empty lists, never null.
		if info.RepoTags == nil || len(info.RepoTags) != 0 || info.Created != busybox.Created.Format(time.RFC3339Nano) {
			t.Errorf("untagged image: RepoTags %#v Created %q", info.RepoTags, info.Created)
		}
	}
}

// TestInspectComment reads the config's comment, which go-containerregistry
// does not model, from an image loaded with a config as BuildKit writes it.
func TestInspectComment(t *testing.T) {
	t.Parallel()
	f := newFixtureImage(t, mustBusybox(t), "bk:1")
	var cfg map[string]any
	if err := json.Unmarshal(f.config, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["comment"] = "buildkit.dockerfile.v0"
	cfg["docker_version"] = "27.0.3"
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.config = raw
	s := openStore(t)
	if _, err := s.Load(t.Context(), bytes.NewReader(docker25Save(t, false, f))); err != nil {
		t.Fatal(err)
	}
	info, err := s.Inspect("bk:1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Comment != "buildkit.dockerfile.v0" || info.DockerVersion != "27.0.3" || info.ID != "sha256:"+hexOf(raw) {
		t.Errorf("Comment %q DockerVersion %q Id %s", info.Comment, info.DockerVersion, info.ID)
	}
	if !slices.Equal(info.Config.Cmd, []string{"sh"}) {
		t.Errorf("Config.Cmd %v", info.Config.Cmd)
	}
}
