package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// buildSpec turns a service and its image into the new container's spec
// (specgen does the translation; its warnings go to rec.Warnings) and
// writes the container's /etc/hostname and a first /etc/hosts.
func buildSpec(rec *record.Record, svc types.ServiceConfig, img *image.Image) (runspec.Spec, error) {
	containersDir := filepath.Dir(rec.Dir)
	spec, warnings, err := specgen.Build(svc, img.Config, specgen.Input{
		ID:         rec.ID,
		Name:       rec.Name,
		Dir:        rec.Dir,
		Labels:     rec.Labels,
		Layers:     img.LayerDirs,
		ProjectDir: rec.Labels[record.LabelWorkingDir],
		FindPeer: func(ref string) (specgen.Peer, error) {
			dir, err := containerDir(containersDir, rec.Project, ref)
			if err != nil {
				return specgen.Peer{}, err
			}
			peer := specgen.Peer{Dir: dir}
			if sp, err := container.ReadSpec(dir); err == nil {
				peer.Options = &sp.Options
			}
			return peer, nil
		},
		Runtime: runtimeChecks{},
	})
	rec.Warnings = warnings
	if err != nil {
		return spec, err
	}
	if err := writeHostname(rec.Dir, spec.Hostname); err != nil {
		return spec, err
	}
	if err := writeHosts(rec.Dir, spec.Hostname, ""); err != nil {
		return spec, err
	}
	return spec, nil
}

func writeHostname(dir, hostname string) error {
	return store.WriteFile(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644)
}

// writeHosts writes /etc/hosts with the container's own address, as Docker does.
func writeHosts(dir, hostname, ip string, extra ...string) error {
	return store.WriteFile(filepath.Join(dir, "hosts"), specgen.HostsFile(hostname, ip, extra), 0o644)
}

// writeResolvConf writes a service's /etc/resolv.conf, pointing it at the
// embedded DNS server on nameserver (when there is one) and keeping the
// host's search domains unless the service sets its own.
func writeResolvConf(dir, nameserver string, svc types.ServiceConfig) error {
	host, _ := os.ReadFile("/etc/resolv.conf")
	data, err := specgen.ResolvConf(svc, nameserver, host)
	if err != nil {
		return err
	}
	return store.WriteFile(filepath.Join(dir, "resolv.conf"), data, 0o644)
}

// containerDir resolves service:NAME (its first container in project) or
// container:NAME (a name or ID) to that container's directory.
func containerDir(containersDir, project, ref string) (string, error) {
	kind, name, _ := strings.Cut(ref, ":")
	entries, err := os.ReadDir(containersDir)
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	var best *record.Record
	for _, e := range entries {
		r, err := record.Load(filepath.Join(containersDir, e.Name()))
		if err != nil {
			continue
		}
		match := kind == "container" && (r.Name == name || r.ID == name || len(name) >= 12 && strings.HasPrefix(r.ID, name))
		if kind == "service" {
			match = r.Project == project && r.Service == name && r.Labels[record.LabelOneoff] != "True"
		}
		if match && (best == nil || r.Number < best.Number) {
			best = r
		}
	}
	if best == nil {
		return "", fmt.Errorf("%s %q has no container: %w", kind, name, errdefs.ErrNotFound)
	}
	return best.Dir, nil
}

// runtimeChecks gives specgen the checks and host facts of engine/container.
type runtimeChecks struct{}

func (runtimeChecks) CheckCapability(name string) error {
	_, err := container.NormalizeCap(name)
	return err
}

func (runtimeChecks) CheckDeviceCgroupRule(rule string) error {
	_, err := container.ParseDeviceCgroupRule(rule)
	return err
}

func (runtimeChecks) CheckUlimit(u runspec.Ulimit) error { return container.CheckUlimit(u) }
func (runtimeChecks) CheckSeccompProfile(profile []byte) error {
	return container.ValidateSeccompProfile(profile)
}
func (runtimeChecks) HardLimit(ulimit string) (uint64, bool) { return container.HostHardLimit(ulimit) }
func (runtimeChecks) CgroupV2() bool                         { return container.CgroupV2() }
func (runtimeChecks) SwapLimitSupported() bool               { return container.SwapLimitSupported() }
