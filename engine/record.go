package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/state"
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
	return state.WriteJSON(filepath.Join(r.dir, recordFile), r)
}

func loadRecord(dir string) (*Record, error) {
	var r Record
	if err := state.ReadJSON(filepath.Join(dir, recordFile), &r); err != nil {
		return nil, err
	}
	r.dir = dir
	return &r, nil
}

// containers lists the records of a project ("" = all), ordered by service then number.
// Directories without a record (a create that was interrupted) are skipped.
func (e *Engine) containers(project string) ([]*Record, error) {
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
		if project == "" || r.Project == project {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Number < out[j].Number
	})
	return out, nil
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
