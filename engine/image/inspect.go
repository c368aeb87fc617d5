package image

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// InspectInfo is what `docker image inspect` prints for an image, with
// Docker's field names (Docker 25 to 27), so scripts and templates written
// for Docker work unchanged.
type InspectInfo struct {
	ID            string `json:"Id"`
	RepoTags      []string
	RepoDigests   []string
	Parent        string
	Comment       string
	Created       string // RFC 3339 with nanoseconds, "" when unknown
	DockerVersion string
	Author        string
	Config        InspectConfig
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	OsVersion     string `json:",omitempty"`
	Size          int64
	RootFS        InspectRootFS
	Metadata      InspectMetadata
}

// InspectConfig is the image's default container configuration, printed
// like Docker's container config: the always-present fields are never
// omitted, the rest only when set.
type InspectConfig struct {
	Hostname        string
	Domainname      string
	User            string
	AttachStdin     bool
	AttachStdout    bool
	AttachStderr    bool
	ExposedPorts    map[string]struct{} `json:",omitempty"`
	Tty             bool
	OpenStdin       bool
	StdinOnce       bool
	Env             []string
	Cmd             []string
	Healthcheck     *v1.HealthConfig `json:",omitempty"`
	ArgsEscaped     bool             `json:",omitempty"`
	Image           string
	Volumes         map[string]struct{}
	WorkingDir      string
	Entrypoint      []string
	NetworkDisabled bool   `json:",omitempty"`
	MacAddress      string `json:",omitempty"`
	OnBuild         []string
	Labels          map[string]string
	StopSignal      string   `json:",omitempty"`
	Shell           []string `json:",omitempty"`
}

// InspectRootFS lists the image's layers by diff ID, bottom first.
type InspectRootFS struct {
	Type   string
	Layers []string
}

// InspectMetadata is Docker's local bookkeeping about the image. The store
// does not record tag times, so LastTagTime is the zero time, as Docker
// shows for a pulled image.
type InspectMetadata struct {
	LastTagTime time.Time
}

// Inspect describes the image ref names (a reference, an ID or an ID
// prefix) the way `docker image inspect` does.
func (s *Store) Inspect(ref string) (*InspectInfo, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, err := idx.resolve(ref)
	if err != nil {
		return nil, err
	}
	img, err := s.image(idx, id)
	if err != nil {
		return nil, err
	}
	h, _ := v1.NewHash(id) // checked by s.image
	raw, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("image %q: config blob: %v: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	var cfg struct {
		v1.ConfigFile
		Comment string `json:"comment"` // not in go-containerregistry's ConfigFile
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("image %q: config: %v: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	c := cfg.Config
	info := &InspectInfo{
		ID:            id,
		RepoTags:      nonNil(img.RepoTags),
		RepoDigests:   nonNil(img.RepoDigests),
		Comment:       cfg.Comment,
		DockerVersion: cfg.DockerVersion,
		Author:        cfg.Author,
		Config: InspectConfig{
			Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
			AttachStdin: c.AttachStdin, AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr,
			ExposedPorts: c.ExposedPorts, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
			Env: c.Env, Cmd: c.Cmd, Healthcheck: c.Healthcheck, ArgsEscaped: c.ArgsEscaped,
			Image: c.Image, Volumes: c.Volumes, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint,
			NetworkDisabled: c.NetworkDisabled, MacAddress: c.MacAddress, OnBuild: c.OnBuild,
			Labels: c.Labels, StopSignal: c.StopSignal, Shell: c.Shell,
		},
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		OsVersion:    cfg.OSVersion,
		Size:         img.Size,
		RootFS:       InspectRootFS{Type: "layers", Layers: append([]string{}, idx.Images[id].Layers...)},
	}
	if !cfg.Created.IsZero() {
		info.Created = cfg.Created.Format(time.RFC3339Nano)
	}
	return info, nil
}

// nonNil makes an empty list print as [] rather than null, as Docker does.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
