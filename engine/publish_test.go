package engine

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// Docker Compose's internal/oci/push.go: OCI 1.1 has the artifact type
// and the empty JSON config; 1.0 has no artifact type and the compose
// empty config media type. Layers carry com.docker.compose.file.
func TestComposeManifest(t *testing.T) {
	layers := []artifactLayer{fileLayer(composeFileMediaType, "com.docker.compose.file", "/x/compose.yaml", []byte("services: {}\n"))}
	for version, want := range map[string][2]string{
		"1.1": {composeArtifactType, "application/vnd.oci.empty.v1+json"},
		"1.0": {"", composeEmptyConfigType},
	} {
		blobs, raw, err := composeManifest(layers, version, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			ArtifactType string
			Config       struct{ MediaType string }
			Layers       []struct {
				MediaType   string
				Annotations map[string]string
			}
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.ArtifactType != want[0] || m.Config.MediaType != want[1] || len(blobs) != 2 || string(blobs[0].Data) != "{}" {
			t.Errorf("%s: %s", version, raw)
		}
		if len(m.Layers) != 1 || m.Layers[0].Annotations["com.docker.compose.file"] != "compose.yaml" {
			t.Errorf("%s layers: %s", version, raw)
		}
	}
}

// Docker Compose publishes env_file entries as <sha256 of the path>.env
// (pkg/compose/publish.go processFile); a file without any goes unchanged.
func TestPublishedFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	os.WriteFile(file, []byte("services:\n  web:\n    image: x\n    env_file: [a.env]\n"), 0o644)
	envPath := filepath.Join(dir, "a.env")
	web := types.ServiceConfig{Name: "web"}
	web.EnvFiles = []types.EnvFile{{Path: envPath}}
	p := &types.Project{Services: types.Services{"web": web}}
	envs := map[string]string{}
	out, err := publishedFile(file, p, envs)
	if err != nil {
		t.Fatal(err)
	}
	hash := fmt.Sprintf("%x.env", sha256.Sum256([]byte(envPath)))
	if !strings.Contains(string(out), hash) || strings.Contains(string(out), "a.env") || envs[envPath] != hash {
		t.Errorf("published:\n%s\nenv files %v", out, envs)
	}
	os.WriteFile(file, []byte("services:\n  web:\n    image: x\n"), 0o644)
	if out, _ := publishedFile(file, &types.Project{}, envs); string(out) != "services:\n  web:\n    image: x\n" {
		t.Errorf("unchanged file: %q", out)
	}
}

// Docker Compose asks before publishing bind mounts and env declarations
// (unless --with-env); interpolated values are not secrets.
func TestPublishWarnings(t *testing.T) {
	pw, ref := "hunter22", "${PW}"
	svc := types.ServiceConfig{Name: "db"}
	svc.Environment = types.MappingWithEquals{"DB_PASSWORD": &pw, "OTHER_TOKEN": &ref}
	svc.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeBind, Source: "/srv", Target: "/data"}}
	p := &types.Project{Services: types.Services{"db": svc}}
	w := publishWarnings(p, false)
	if len(w) != 2 || !strings.Contains(w[0], "bind mounts") || !strings.Contains(w[1], `service "db": literal value for "DB_PASSWORD"`) || strings.Contains(w[1], "OTHER_TOKEN") {
		t.Errorf("warnings: %q", w)
	}
	if w := publishWarnings(p, true); len(w) != 1 {
		t.Errorf("with --with-env: %q", w)
	}
}
