package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	godigest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gopkg.in/yaml.v3"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
)

// The media types of a published Compose application (Docker Compose's
// internal/oci).
const (
	composeArtifactType    = "application/vnd.docker.compose.project"
	composeFileMediaType   = "application/vnd.docker.compose.file+yaml"
	composeEnvMediaType    = "application/vnd.docker.compose.envfile"
	composeEmptyConfigType = "application/vnd.docker.compose.config.empty.v1+json"
)

// PublishOptions are the flags of `compose publish`.
type PublishOptions struct {
	Repository          string // REPOSITORY[:TAG]
	OCIVersion          string // --oci-version: "" (1.1, else 1.0 if refused), "1.0" or "1.1"
	ResolveImageDigests bool   // --resolve-image-digests: an image-digests.yaml layer pins the images
	WithEnv             bool   // --with-env: the env files go along
	// Confirm asks before publishing what may be sensitive (bind mounts,
	// env files, literal secrets); nil answers yes (-y).
	Confirm func(msg string) (bool, error)
}

// Publish pushes the project's images that compose builds, then its
// compose files (and env files with WithEnv) as an OCI artifact, as
// `docker compose publish` does.
func (e *Engine) Publish(ctx context.Context, p *types.Project, opts PublishOptions) error {
	if opts.OCIVersion != "" && opts.OCIVersion != "1.0" && opts.OCIVersion != "1.1" {
		return fmt.Errorf("unsupported OCI version: %s: %w", opts.OCIVersion, errdefs.ErrInvalidArgument)
	}
	if err := publishable(p); err != nil {
		return err
	}
	if err := e.publishChecks(p, opts); err != nil {
		return err
	}
	if err := e.Push(ctx, p, PushOptions{IgnoreFailures: true}); err != nil {
		return err
	}
	layers, err := e.publishLayers(ctx, p, opts)
	if err != nil {
		return err
	}
	e.beginProgress("publish")
	defer e.endProgress()
	e.event(progress.Event{ID: opts.Repository, Text: "publishing", Status: progress.Working})
	if !e.dryRun {
		if err := pushComposeArtifact(ctx, opts.Repository, layers, opts.OCIVersion, e.registryOptions()); err != nil {
			e.event(progress.Event{ID: opts.Repository, Text: "publishing", Status: progress.Error})
			return err
		}
	}
	e.event(progress.Event{ID: opts.Repository, Text: "published", Status: progress.Done})
	return nil
}

// publishable refuses what Docker Compose cannot publish: a service with
// only a build section (no image for others to pull), local includes.
func publishable(p *types.Project) error {
	var buildOnly []string
	for _, name := range p.ServiceNames() {
		if s := p.Services[name]; s.Image == "" && s.Build != nil {
			buildOnly = append(buildOnly, name)
		}
	}
	if len(buildOnly) > 0 {
		var b strings.Builder
		b.WriteString("your Compose stack cannot be published as it only contains a build section for service(s):\n")
		for _, s := range buildOnly {
			fmt.Fprintf(&b, "- %q\n", s)
		}
		return errdefs.Mark(errdefs.ErrInvalidArgument, errors.New(b.String()))
	}
	for _, f := range p.ComposeFiles {
		local, err := hasLocalInclude(f)
		if err != nil {
			return err
		}
		if local {
			return fmt.Errorf("cannot publish compose file with local includes: %w", errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// hasLocalInclude reports whether a compose file includes a local file.
func hasLocalInclude(file string) (bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	var doc struct {
		Include []any `yaml:"include"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return false, nil // compose-go loaded it: not ours to judge
	}
	for _, inc := range doc.Include {
		paths := []any{inc}
		if m, ok := inc.(map[string]any); ok {
			paths, _ = m["path"].([]any)
			if s, ok := m["path"].(string); ok {
				paths = []any{s}
			}
		}
		for _, path := range paths {
			if s, _ := path.(string); s != "" && !strings.HasPrefix(s, "oci://") && !strings.Contains(s, "://") && !strings.HasPrefix(s, "git@") {
				return true, nil
			}
		}
	}
	return false, nil
}

// publishChecks asks, as Docker Compose does, before publishing bind
// mount declarations, env files or literal secret-looking values (unless
// WithEnv), and literal config contents.
func (e *Engine) publishChecks(p *types.Project, opts PublishOptions) error {
	for _, msg := range publishWarnings(p, opts.WithEnv) {
		if opts.Confirm == nil {
			continue
		}
		ok, err := opts.Confirm(msg)
		if err != nil {
			return err
		}
		if !ok {
			return errdefs.ErrCanceled
		}
	}
	return nil
}

// publishWarnings are the questions publish asks about p, in Docker
// Compose's words (pkg/compose/publish.go).
func publishWarnings(p *types.Project, withEnv bool) []string {
	var out []string
	var b strings.Builder
	for _, name := range p.ServiceNames() {
		var binds []string
		for _, v := range p.Services[name].Volumes {
			if v.Type == types.VolumeTypeBind {
				binds = append(binds, v.String())
			}
		}
		if len(binds) > 0 {
			b.WriteString(name)
			for _, v := range binds {
				b.WriteString(v + "\n")
			}
		}
	}
	if b.Len() > 0 {
		out = append(out, "you are about to publish bind mounts declaration within your OCI artifact.\n"+
			"only the bind mount declarations will be added to the OCI artifact (not content)\n"+
			"please double check that you are not mounting potential user's sensitive directories or data\n"+
			b.String()+"Are you ok to publish these bind mount declarations?")
	}
	if msg := envWarning(p); msg != "" && !withEnv {
		out = append(out, msg)
	}
	var literal []string
	for _, name := range sortedNames(p.Configs) {
		if c := p.Configs[name].Content; c != "" && looksLiteral(c) {
			literal = append(literal, name)
		}
	}
	if len(literal) > 0 {
		b.Reset()
		b.WriteString("you are about to publish literal inline config content within your OCI artifact.\n")
		for _, n := range literal {
			fmt.Fprintf(&b, "  config %q\n", n)
		}
		out = append(out, b.String()+"Are you ok to publish these config contents?")
	}
	return out
}

// sensitiveKey is what makes an environment variable's literal value look
// like a secret (the keywords of the detector Docker Compose uses).
var sensitiveKey = regexp.MustCompile(`(?i)(api[_-]?key|auth|credential|passw(or)?d|pwd|private[_-]?key|secret|token)`)

// looksLiteral: not an interpolation (${VAR}, $VAR) nor a short value.
func looksLiteral(v string) bool {
	v = strings.ReplaceAll(v, "$$", "X")
	return len(v) >= 3 && !strings.HasPrefix(v, "$") && !strings.HasSuffix(v, "}")
}

func envWarning(p *types.Project) string {
	var lines []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if len(s.EnvFiles) > 0 {
			lines = append(lines, fmt.Sprintf("  service %q: env_file declared", name))
		}
		var keys []string
		for k, v := range s.Environment {
			if v != nil && sensitiveKey.MatchString(k) && looksLiteral(*v) {
				keys = append(keys, fmt.Sprintf("%q", k))
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			lines = append(lines, fmt.Sprintf("  service %q: literal value for %s", name, strings.Join(keys, ", ")))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "you are about to publish env-related declarations within your OCI artifact.\n" +
		"env_file paths and literal values for sensitive-looking keys are embedded as-is in the published YAML;\n" +
		"interpolated values like \"${VAR}\" are kept symbolic and have already been excluded.\n" +
		strings.Join(lines, "\n") + "\n" +
		"Use --with-env to silence this prompt and always publish env declarations.\n" +
		"Are you ok to publish these env declarations?"
}

// artifactLayer is one layer of the published artifact.
type artifactLayer struct {
	mediaType   string
	data        []byte
	annotations map[string]string
}

// publishLayers are the compose files (env_file paths replaced by the
// names their layers get), the env files with WithEnv, and an
// image-digests.yaml override with ResolveImageDigests.
func (e *Engine) publishLayers(ctx context.Context, p *types.Project, opts PublishOptions) ([]artifactLayer, error) {
	var layers []artifactLayer
	envFiles := map[string]string{} // path -> its layer's name
	for _, f := range p.ComposeFiles {
		data, err := publishedFile(f, p, envFiles)
		if err != nil {
			return nil, err
		}
		layers = append(layers, fileLayer(composeFileMediaType, "com.docker.compose.file", f, data))
	}
	if opts.WithEnv {
		for _, path := range sortedNames(envFiles) {
			data, err := os.ReadFile(path)
			if err != nil {
				continue // as Docker Compose: an env file it cannot read is left out
			}
			layers = append(layers, fileLayer(composeEnvMediaType, "com.docker.compose.envfile", envFiles[path], data))
		}
	}
	if opts.ResolveImageDigests {
		resolved, err := ResolveImageDigests(ctx, p)
		if err != nil {
			return nil, err
		}
		override := types.Project{Services: types.Services{}}
		for name, s := range resolved.Services {
			o := types.ServiceConfig{Name: name}
			o.Image = s.Image
			override.Services[name] = o
		}
		data, err := override.MarshalYAML()
		if err != nil {
			return nil, err
		}
		layers = append(layers, fileLayer(composeFileMediaType, "com.docker.compose.file", "image-digests.yaml", data))
	}
	return layers, nil
}

func fileLayer(mediaType, key, name string, data []byte) artifactLayer {
	return artifactLayer{mediaType: mediaType, data: data, annotations: map[string]string{
		"com.docker.compose.version": Version,
		key:                          filepath.Base(name),
	}}
}

// publishedFile is a compose file as published: each service's env_file
// entries name the env file's layer, <sha256 of its path>.env, instead of
// a path on this machine. A file without env_file goes as it is.
func publishedFile(file string, p *types.Project, envFiles map[string]string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return data, nil
	}
	changed := false
	services := mapValue(doc.Content[0], "services")
	for i := 0; services != nil && i+1 < len(services.Content); i += 2 {
		name := services.Content[i].Value
		entries := envFileNodes(mapValue(services.Content[i+1], "env_file"))
		resolved := p.Services[name].EnvFiles
		if svc, ok := p.DisabledServices[name]; ok {
			resolved = svc.EnvFiles
		}
		for j, n := range entries {
			if j >= len(resolved) {
				break
			}
			hash := fmt.Sprintf("%x.env", sha256.Sum256([]byte(resolved[j].Path)))
			envFiles[resolved[j].Path] = hash
			n.Value, changed = hash, true
		}
	}
	if !changed {
		return data, nil
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return out.Bytes(), enc.Close()
}

// mapValue is the value node of key in a mapping node.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// envFileNodes are the scalar nodes holding env_file paths, in order
// (a string, a list of strings, or a list of {path: ...}).
func envFileNodes(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []*yaml.Node{n}
	case n.Kind != yaml.SequenceNode:
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode {
			out = append(out, item)
		} else if v := mapValue(item, "path"); v != nil {
			out = append(out, v)
		}
	}
	return out
}

// pushComposeArtifact pushes layers and their manifest to repository: in
// OCI 1.1's form (an artifact type, the empty config) unless ociVersion
// is "1.0", falling back to 1.0 when the registry refuses 1.1 and no
// version was asked for, as Docker Compose does.
func pushComposeArtifact(ctx context.Context, repository string, layers []artifactLayer, ociVersion string, ro image.RegistryOptions) error {
	version := ociVersion
	if version == "" {
		version = "1.1"
	}
	blobs, manifest, err := composeManifest(layers, version, time.Now())
	if err != nil {
		return err
	}
	err = image.PushArtifact(ctx, repository, blobs, manifest, ro)
	if errors.Is(err, image.ErrManifestRefused) && ociVersion == "" {
		blobs, manifest, err = composeManifest(layers, "1.0", time.Now())
		if err == nil {
			err = image.PushArtifact(ctx, repository, blobs, manifest, ro)
		}
	}
	return err
}

// composeManifest is the image manifest of a published application and
// the blobs it names (config first).
func composeManifest(layers []artifactLayer, version string, now time.Time) ([]image.Blob, []byte, error) {
	config := ocispec.DescriptorEmptyJSON
	artifactType := composeArtifactType
	if version == "1.0" { // no artifactType in 1.0: the config's media type tells
		config = ocispec.Descriptor{MediaType: composeEmptyConfigType, Digest: godigest.FromString("{}"), Size: 2}
		artifactType = ""
	}
	blobs := []image.Blob{{MediaType: config.MediaType, Data: []byte("{}")}}
	descs := make([]ocispec.Descriptor, len(layers))
	for i, l := range layers {
		descs[i] = ocispec.Descriptor{MediaType: l.mediaType, Digest: godigest.FromBytes(l.data), Size: int64(len(l.data)), Annotations: l.annotations}
		blobs = append(blobs, image.Blob{MediaType: l.mediaType, Data: l.data})
	}
	m, err := json.Marshal(ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       config,
		Layers:       descs,
		Annotations:  map[string]string{"org.opencontainers.image.created": now.Format(time.RFC3339)},
	})
	return blobs, m, err
}
