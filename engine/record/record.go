// Package record keeps the engine's description of each container (its
// name, project, service, labels, networks, ports, volumes and run spec) in
// <root>/containers/<id>/container.json, and a per-project index so a
// command reads only its own project's records.
package record

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/networks"
)

// Docker Compose's labels; other tools read them, so the names are fixed.
const (
	LabelProject     = "com.docker.compose.project"
	LabelService     = "com.docker.compose.service"
	LabelNumber      = "com.docker.compose.container-number"
	LabelConfigHash  = "com.docker.compose.config-hash"
	LabelOneoff      = "com.docker.compose.oneoff"
	LabelWorkingDir  = "com.docker.compose.project.working_dir"
	LabelConfigFiles = "com.docker.compose.project.config_files"
	LabelVersion     = "com.docker.compose.version"
	LabelImage       = "com.docker.compose.image"
	LabelDependsOn   = "com.docker.compose.depends_on"
	LabelNetwork     = "com.docker.compose.network"
)

// Attachment is a container's membership of one network.
type Attachment struct {
	Network     string   `json:"network"` // full network name, e.g. proj_default
	Aliases     []string `json:"aliases"`
	IPv4Address string   `json:"ipv4_address,omitempty"` // static address (ipv4_address)
	IPv6Address string   `json:"ipv6_address,omitempty"` // static address (ipv6_address)
	MacAddress  string   `json:"mac_address,omitempty"`
	// The endpoint options of the service's networks.<key>.
	InterfaceName string   `json:"interface_name,omitempty"` // interface_name: the name inside the container
	LinkLocalIPs  []string `json:"link_local_ips,omitempty"`
	GwPriority    int      `json:"gw_priority,omitempty"` // the highest gives the default route
	Sysctls       []string `json:"sysctls,omitempty"`     // driver_opts com.docker.network.endpoint.sysctls
}

// VolumeRef is one storage mount of a container that outlives it or is
// shared: a volume (named or anonymous) or a host bind. volumes_from copies
// them, recreation takes over the anonymous ones, `down -v` and the
// in-use checks read them.
type VolumeRef struct {
	Type        string `json:"type"`           // "volume" or "bind"
	Name        string `json:"name,omitempty"` // volume name
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"read_only,omitempty"`
	Anonymous   bool   `json:"anonymous,omitempty"`
}

// Record is the engine's own description of a container.
type Record struct {
	ID          string                 `json:"id"`
	Name        string                 `json:"name"`
	Project     string                 `json:"project"`
	Service     string                 `json:"service"`
	Number      int                    `json:"number"`
	Image       string                 `json:"image"`    // as written in the compose file
	ImageID     string                 `json:"image_id"` // sha256:...
	Command     []string               `json:"command"`
	Labels      map[string]string      `json:"labels"`
	Created     time.Time              `json:"created"`
	Networks    []Attachment           `json:"networks"`
	StopTimeout *time.Duration         `json:"stop_timeout,omitempty"`
	Ports       []networks.PortMapping `json:"ports,omitempty"`        // published; host ports fixed at create
	Exposed     []string               `json:"exposed,omitempty"`      // "80/tcp": the image's EXPOSE, expose and ports' targets
	ExtraHosts  []string               `json:"extra_hosts,omitempty"`  // "ip\tname" lines for /etc/hosts
	NetworkMode string                 `json:"network_mode,omitempty"` // "", host, none or container:<id>
	Links       map[string]string      `json:"links,omitempty"`        // links: alias -> service or container name
	DNS         []string               `json:"dns,omitempty"`          // the service's dns: upstreams of the embedded DNS for it
	Spec        runspec.Spec           `json:"spec"`
	Volumes     []VolumeRef            `json:"volumes,omitempty"` // storage mounts that outlive it

	// Dir is the container's directory (not saved: it is where the record is).
	Dir string `json:"-"`
	// Warnings come from mapping the service's options; printed at create, not saved.
	Warnings []string `json:"-"`
}

// File is the record's name in the container's directory.
const File = "container.json"

// NewID returns a new container ID: 64 hex characters, like Docker's.
func NewID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// Oneoff reports whether the container was made by `compose run`.
func (r *Record) Oneoff() bool { return r.Labels[LabelOneoff] == "True" }

// LogPath is the container's log file (Docker's json-file format).
func (r *Record) LogPath() string { return filepath.Join(r.Dir, r.ID+"-json.log") }

// DisplayName is the name used in log prefixes: "<service>-<n>" like Compose.
func (r *Record) DisplayName() string {
	if r.Oneoff() {
		return r.Name
	}
	return r.Service + "-" + strconv.Itoa(r.Number)
}

func (r *Record) String() string { return fmt.Sprintf("container %s", r.Name) }

// Store reads and writes the records under a state root.
type Store struct {
	Root string
	// DryRun: nothing is written, not even the project index.
	DryRun bool
}

// ContainersDir holds one directory per container.
func (s *Store) ContainersDir() string { return filepath.Join(s.Root, "containers") }

// Dir is the directory of the container id.
func (s *Store) Dir(id string) string { return filepath.Join(s.ContainersDir(), id) }

// The project index, <root>/projects/<project>/<id> (symlinks to the
// containers' directories), lets a command read the records of its project
// only, however many other containers the host has. Links of removed
// containers are dropped by the next reader.
func (s *Store) projectsDir() string { return filepath.Join(s.Root, "projects") }

// Save writes r atomically into its directory and indexes it.
func (s *Store) Save(r *Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := store.WriteFile(filepath.Join(r.Dir, File), data, 0o600); err != nil {
		return err
	}
	return s.index(r.Project, r.ID)
}

func (s *Store) index(project, id string) error {
	dir := filepath.Join(s.projectsDir(), project)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	err := os.Symlink(filepath.Join("..", "..", "containers", id), filepath.Join(dir, id))
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// buildIndex indexes every record once, for state written before the
// index existed; it is done when the projects directory exists.
func (s *Store) buildIndex() error {
	if _, err := os.Stat(s.projectsDir()); err == nil {
		return nil
	}
	all, err := s.All()
	if err != nil {
		return err
	}
	for _, r := range all {
		if err := s.index(r.Project, r.ID); err != nil {
			return err
		}
	}
	return os.MkdirAll(s.projectsDir(), 0o711)
}

// Load reads the record in a container's directory.
func Load(dir string) (*Record, error) {
	data, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, File), err)
	}
	r.Dir = dir
	return &r, nil
}

// List returns the records of a project ("" = all), ordered by service
// then number. Directories without a record (a create that was
// interrupted) are skipped.
func (s *Store) List(project string) ([]*Record, error) {
	if project == "" {
		return s.All()
	}
	if _, err := os.Stat(s.projectsDir()); err != nil && s.DryRun {
		// A dry run writes nothing, not even the index: read everything.
		all, err := s.All()
		return slices.DeleteFunc(all, func(r *Record) bool { return r.Project != project }), err
	}
	if err := s.buildIndex(); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.projectsDir(), project)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, ent := range entries {
		r, err := Load(s.Dir(ent.Name()))
		if errors.Is(err, fs.ErrNotExist) || errdefs.IsNotFound(err) {
			_ = os.Remove(filepath.Join(dir, ent.Name())) // removed since
			continue
		}
		if err != nil || r.Project != project {
			continue
		}
		out = append(out, r)
	}
	sortRecords(out)
	return out, nil
}

// All reads every record on the host.
func (s *Store) All() ([]*Record, error) {
	entries, err := os.ReadDir(s.ContainersDir())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Record
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		r, err := Load(filepath.Join(s.ContainersDir(), ent.Name()))
		if err != nil {
			continue
		}
		out = append(out, r)
	}
	sortRecords(out)
	return out, nil
}

func sortRecords(recs []*Record) {
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Service != recs[j].Service {
			return recs[i].Service < recs[j].Service
		}
		return recs[i].Number < recs[j].Number
	})
}

// Forget drops the (empty) index of a project that is gone.
func (s *Store) Forget(project string) {
	if s.DryRun {
		return
	}
	_ = os.Remove(filepath.Join(s.projectsDir(), project))
}
