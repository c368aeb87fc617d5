package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store/jsonfile"
	"github.com/composer-dev/compose/networks"
)

// Docker Compose's labels; other tools read them, so the names are fixed.
const (
	labelProject     = "com.docker.compose.project"
	labelService     = "com.docker.compose.service"
	labelNumber      = "com.docker.compose.container-number"
	labelConfigHash  = "com.docker.compose.config-hash"
	labelOneoff      = "com.docker.compose.oneoff"
	labelWorkingDir  = "com.docker.compose.project.working_dir"
	labelConfigFiles = "com.docker.compose.project.config_files"
	labelVersion     = "com.docker.compose.version"
	labelImage       = "com.docker.compose.image"
	labelDependsOn   = "com.docker.compose.depends_on"
	labelNetwork     = "com.docker.compose.network"
)

// Version is what `compose version` reports and the version label carries.
const Version = "0.1.0"

// Attachment is a container's membership of one network.
type Attachment struct {
	Network     string   `json:"network"` // full network name, e.g. proj_default
	Aliases     []string `json:"aliases"`
	IPv4Address string   `json:"ipv4_address,omitempty"` // static address (ipv4_address)
	IPv6Address string   `json:"ipv6_address,omitempty"` // static address (ipv6_address)
	MacAddress  string   `json:"mac_address,omitempty"`
}

// Record is the engine's own description of a container, kept in
// <root>/containers/<id>/container.json next to the runtime's files.
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
	ExtraHosts  []string               `json:"extra_hosts,omitempty"`  // "ip\tname" lines for /etc/hosts
	NetworkMode string                 `json:"network_mode,omitempty"` // "", host, none or container:<id>
	Links       map[string]string      `json:"links,omitempty"`        // links: alias -> service or container name
	DNS         []string               `json:"dns,omitempty"`          // the service's dns: upstreams of the embedded DNS for it
	Spec        container.Spec         `json:"spec"`
	Volumes     []VolumeRef            `json:"volumes,omitempty"` // storage mounts that outlive it (volumes.go)

	dir string
	// warnings from mapping the service's options; printed at create, not saved.
	warnings []string
}

const recordFile = "container.json"

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

func (e *Engine) saveRecord(r *Record) error {
	if err := jsonfile.Write(filepath.Join(r.dir, recordFile), r); err != nil {
		return err
	}
	return e.indexRecord(r.Project, r.ID)
}

// The project index, <root>/projects/<project>/<id> (symlinks to the
// containers' directories), lets a command read the records of its project
// only, however many other containers the host has. Links of removed
// containers are dropped by the next reader.
func (e *Engine) projectsDir() string { return filepath.Join(e.root, "projects") }

func (e *Engine) indexRecord(project, id string) error {
	dir := filepath.Join(e.projectsDir(), project)
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
func (e *Engine) buildIndex() error {
	if _, err := os.Stat(e.projectsDir()); err == nil {
		return nil
	}
	all, err := e.allContainers()
	if err != nil {
		return err
	}
	for _, r := range all {
		if err := e.indexRecord(r.Project, r.ID); err != nil {
			return err
		}
	}
	return os.MkdirAll(e.projectsDir(), 0o711)
}

func loadRecord(dir string) (*Record, error) {
	var r Record
	if err := jsonfile.Read(filepath.Join(dir, recordFile), &r); err != nil {
		return nil, err
	}
	r.dir = dir
	return &r, nil
}

// containers lists the records of a project ("" = all), ordered by service
// then number. Directories without a record (a create that was interrupted)
// are skipped.
func (e *Engine) containers(project string) ([]*Record, error) {
	if project == "" {
		return e.allContainers()
	}
	if _, err := os.Stat(e.projectsDir()); err != nil && e.dryRun {
		// A dry run writes nothing, not even the index: read everything.
		all, err := e.allContainers()
		return slices.DeleteFunc(all, func(r *Record) bool { return r.Project != project }), err
	}
	if err := e.buildIndex(); err != nil {
		return nil, err
	}
	dir := filepath.Join(e.projectsDir(), project)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, ent := range entries {
		r, err := loadRecord(e.containerDir(ent.Name()))
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

// allContainers reads every record on the host.
func (e *Engine) allContainers() ([]*Record, error) {
	entries, err := os.ReadDir(e.containersDir())
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
		r, err := loadRecord(filepath.Join(e.containersDir(), ent.Name()))
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

// State reads the runtime state of a container (repairing stale state).
func (r *Record) State() container.State {
	st, err := container.ReadState(r.dir)
	if err != nil {
		return container.State{Status: container.Status("created")}
	}
	return st
}

func (r *Record) running() bool { return r.State().Status == "running" }

func (r *Record) logPath() string { return filepath.Join(r.dir, r.ID+"-json.log") }

// displayName is the name used in log prefixes: "<service>-<n>" like Compose.
func (r *Record) displayName() string {
	if r.Labels[labelOneoff] == "True" {
		return r.Name
	}
	return r.Service + "-" + strconv.Itoa(r.Number)
}

func (r *Record) String() string { return fmt.Sprintf("container %s", r.Name) }
