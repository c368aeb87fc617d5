package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// defaultPath is what Docker puts in PATH when the image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// commandLine merges the image's Entrypoint/Cmd with the service's overrides
// the way Docker does: overriding the entrypoint also drops the image's Cmd.
func commandLine(svc types.ServiceConfig, cfg v1.Config) ([]string, error) {
	entrypoint, cmd := cfg.Entrypoint, cfg.Cmd
	if svc.Entrypoint != nil {
		entrypoint, cmd = svc.Entrypoint, nil
	}
	if svc.Command != nil {
		cmd = svc.Command
	}
	args := append(append([]string{}, entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("service %q: no command specified: %w", svc.Name, errdefs.ErrInvalidArgument)
	}
	return args, nil
}

// environment is the image's env overlaid with the service's, plus HOSTNAME and
// a default PATH as Docker adds them.
func environment(svc types.ServiceConfig, cfg v1.Config, hostname string) []string {
	index := map[string]int{}
	var env []string
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			env[i] = kv
			return
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	set(defaultPath)
	set("HOSTNAME=" + hostname)
	for _, kv := range cfg.Env {
		set(kv)
	}
	keys := make([]string, 0, len(svc.Environment))
	for k := range svc.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := svc.Environment[k]; v != nil {
			set(k + "=" + *v)
		}
	}
	return env
}

// etcFiles are the per-container /etc files Docker bind-mounts.
var etcFiles = []string{"hostname", "hosts", "resolv.conf"}

func writeHostname(dir, hostname string) error {
	return store.WriteFile(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644)
}

// writeHosts writes /etc/hosts with the container's own address, as Docker does.
func writeHosts(dir, hostname, ip string, extra ...string) error {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	if ip != "" {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	for _, line := range extra { // extra_hosts
		b.WriteString(line + "\n")
	}
	return store.WriteFile(filepath.Join(dir, "hosts"), []byte(b.String()), 0o644)
}

// writeResolvConf points the container at the embedded DNS server on its
// first network's gateway, keeping the host's search domains and options.
func writeResolvConf(dir, nameserver string) error {
	var b strings.Builder
	if nameserver != "" {
		fmt.Fprintf(&b, "nameserver %s\n", nameserver)
	}
	if host, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		for _, line := range strings.Split(string(host), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "search" {
				b.WriteString(line + "\n")
			}
		}
	}
	b.WriteString("options ndots:0\n")
	return store.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(b.String()), 0o644)
}

// buildSpec turns a service and its image into the runtime's container spec.
func buildSpec(rec *record.Record, svc types.ServiceConfig, cfg v1.Config, layers []string) (runspec.Spec, error) {
	args, err := commandLine(svc, cfg)
	if err != nil {
		return runspec.Spec{}, err
	}
	hostname := svc.Hostname
	if hostname == "" {
		hostname = rec.ID[:12]
	}
	cwd := svc.WorkingDir
	if cwd == "" {
		cwd = cfg.WorkingDir
	}
	user := svc.User
	if user == "" {
		user = cfg.User
	}
	stopSignal := svc.StopSignal
	if stopSignal == "" {
		stopSignal = cfg.StopSignal
	}
	spec := runspec.Spec{
		ID:         rec.ID,
		Name:       rec.Name,
		Dir:        rec.Dir,
		Args:       args,
		Env:        environment(svc, cfg, hostname),
		Cwd:        cwd,
		User:       user,
		Hostname:   hostname,
		Lower:      layers,
		Labels:     rec.Labels,
		StopSignal: stopSignal,
	}
	env := optionsEnv{projectDir: rec.Labels[record.LabelWorkingDir], project: rec.Project, containersDir: filepath.Dir(rec.Dir)}
	if spec.Options, rec.Warnings, err = containerOptions(svc, cfg, env); err != nil {
		return spec, err
	}
	if spec.Restart, spec.Health, spec.Log, err = supervisorPolicy(svc, cfg); err != nil {
		return spec, err
	}
	for _, name := range etcFiles {
		spec.Mounts = append(spec.Mounts, runspec.Mount{Source: filepath.Join(rec.Dir, name), Destination: "/etc/" + name})
	}
	if err := writeHostname(rec.Dir, hostname); err != nil {
		return spec, err
	}
	if err := writeHosts(rec.Dir, hostname, ""); err != nil {
		return spec, err
	}
	return spec, nil
}
