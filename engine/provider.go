package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
	"github.com/composer-dev/compose/progress"
)

// Provider services (`provider:`) are run by an external program with
// Docker Compose's provider protocol (pkg/compose/plugins.go): the Docker
// CLI plugin docker-<type>, or <type> in PATH, is run as
//
//	<program> compose --project-name=<project> up|down|stop [--<option>=<value>...] <service>
//
// and answers with JSON lines on stdout: info (progress), error (fails
// the command), setenv (KEY=VALUE given to the services that depend on
// it, as <SERVICE>_KEY), rawsetenv (KEY=VALUE as is), debug, and
// get-service-config (the service's configuration is sent on stdin).
// `<program> compose metadata` may describe the options each command
// takes; the others are then not passed.

// providerMessage is one line of a provider's answer.
type providerMessage struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

// providerMetadata is what `<program> compose metadata` prints.
type providerMetadata struct {
	Description string           `json:"description"`
	Up          providerCommand  `json:"up"`
	Down        providerCommand  `json:"down"`
	Stop        *providerCommand `json:"stop,omitempty"`
}

type providerCommand struct {
	Parameters []struct {
		Name     string `json:"name"`
		Required bool   `json:"required"`
	} `json:"parameters"`
}

func (m providerMetadata) empty() bool {
	return m.Description == "" && m.Up.Parameters == nil && m.Down.Parameters == nil
}

// takes reports whether the command has the parameter.
func (c providerCommand) takes(name string) bool {
	for _, p := range c.Parameters {
		if p.Name == name {
			return true
		}
	}
	return false
}

// providerVars are the variables a provider set for its dependents.
type providerVars struct {
	prefixed, raw map[string]string
}

// providerProgram finds the program of a provider type: the Docker CLI
// plugin docker-<type> in the plugin directories Docker searches, else
// <type> in PATH.
func providerProgram(svc types.ServiceConfig) (string, error) {
	kind := svc.Provider.Type
	if kind == "compose" || kind == "" || strings.ContainsRune(kind, os.PathSeparator) {
		return "", fmt.Errorf("service %q: %q is not a valid provider type: %w", svc.Name, kind, errdefs.ErrInvalidArgument)
	}
	for _, dir := range cliPluginDirs() {
		p := filepath.Join(dir, "docker-"+kind)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(kind)
	if err != nil {
		return "", fmt.Errorf("service %q: provider %q: no docker-%s CLI plugin and no %s in $PATH: %w", svc.Name, kind, kind, kind, errdefs.ErrNotFound)
	}
	return p, nil
}

// cliPluginDirs are where the Docker CLI looks for plugins: the user's
// config directory first.
func cliPluginDirs() []string {
	cfg := os.Getenv("DOCKER_CONFIG")
	if cfg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(home, ".docker")
		}
	}
	dirs := []string{}
	if cfg != "" {
		dirs = append(dirs, filepath.Join(cfg, "cli-plugins"))
	}
	return append(dirs, "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
}

// providerArgs builds the program's command line: the options the
// command's metadata lists (all of them without metadata), sorted.
func providerArgs(p *types.Project, svc types.ServiceConfig, command string, meta providerMetadata) ([]string, bool, error) {
	cmd := meta.Up
	switch command {
	case "down":
		cmd = meta.Down
	case "stop":
		if meta.Stop == nil {
			return nil, false, nil // the provider has nothing to stop
		}
		cmd = *meta.Stop
	}
	if !meta.empty() {
		for _, prm := range cmd.Parameters {
			if _, ok := svc.Provider.Options[prm.Name]; prm.Required && !ok {
				return nil, false, fmt.Errorf("service %q: required parameter %q is missing from provider %q definition: %w", svc.Name, prm.Name, svc.Provider.Type, errdefs.ErrInvalidArgument)
			}
		}
	}
	args := []string{"compose", "--project-name=" + p.Name, command}
	keys := make([]string, 0, len(svc.Provider.Options))
	for k := range svc.Provider.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !meta.empty() && !cmd.takes(k) {
			continue
		}
		for _, v := range svc.Provider.Options[k] {
			args = append(args, fmt.Sprintf("--%s=%s", k, v))
		}
	}
	return append(args, svc.Name), true, nil
}

// runProvider runs command (up, down or stop) for a provider service,
// reporting its progress under the service's name.
func (e *Engine) runProvider(ctx context.Context, p *types.Project, svc types.ServiceConfig, command string) (providerVars, error) {
	vars := providerVars{prefixed: map[string]string{}, raw: map[string]string{}}
	program, err := providerProgram(svc)
	if err != nil {
		return vars, err
	}
	doing, done := providerStatus(command)
	if e.dryRun { // the program is not run, not even for its metadata
		e.event(progress.Event{ID: svc.Name, Text: doing, Status: progress.Working})
		e.event(progress.Event{ID: svc.Name, Text: done, Status: progress.Done})
		return vars, nil
	}
	env := p.Environment.Values()
	meta := providerMetadataOf(ctx, program, env)
	args, run, err := providerArgs(p, svc, command, meta)
	if err != nil || !run {
		return vars, err
	}
	e.event(progress.Event{ID: svc.Name, Text: doing, Status: progress.Working})
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	if err := e.talkToProvider(cmd, svc, &vars); err != nil {
		e.event(progress.Event{ID: svc.Name, Text: "Error", Status: progress.Error, Details: firstLine(err.Error())})
		return vars, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	e.event(progress.Event{ID: svc.Name, Text: done, Status: progress.Done})
	return vars, nil
}

// providerStatus is how the progress shows a provider's command, as
// Docker Compose reports it.
func providerStatus(command string) (doing, done string) {
	switch command {
	case "down":
		return "Removing", "Removed"
	case "stop":
		return "Stopping", "Stopped"
	}
	return "Creating", "Created"
}

// talkToProvider runs the provider and reads its answer.
func (e *Engine) talkToProvider(cmd *exec.Cmd, svc types.ServiceConfig, vars *providerVars) error {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	serr := readProvider(stdout, stdin, svc, vars, func(info string) {
		e.event(progress.Event{ID: svc.Name, Text: info, Status: progress.Working})
	})
	stdin.Close()
	if serr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return serr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("provider %s: %w", filepath.Base(cmd.Path), errdefs.Mark(errdefs.ErrFailedPrecondition, err))
	}
	return nil
}

// readProvider reads the provider's JSON lines until it closes stdout;
// get-service-config is answered on stdin, from a goroutine so a provider
// writing before it reads never blocks it.
func readProvider(stdout io.Reader, stdin io.Writer, svc types.ServiceConfig, vars *providerVars, info func(string)) error {
	dec := json.NewDecoder(bufio.NewReader(stdout))
	answered := make(chan struct{})
	close(answered)
	for {
		var msg providerMessage
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			<-answered
			return nil
		}
		if err != nil {
			return fmt.Errorf("invalid response from provider: %w", errdefs.Mark(errdefs.ErrFailedPrecondition, err))
		}
		switch msg.Type {
		case "error":
			return errdefs.Mark(errdefs.ErrFailedPrecondition, errors.New(msg.Message))
		case "info":
			info(firstLine(msg.Message))
		case "setenv", "rawsetenv":
			k, v, ok := strings.Cut(msg.Message, "=")
			if !ok {
				return fmt.Errorf("invalid response from plugin: %s: %w", msg.Message, errdefs.ErrFailedPrecondition)
			}
			if msg.Type == "setenv" {
				vars.prefixed[k] = v
			} else {
				vars.raw[k] = v
			}
		case "get-service-config":
			payload, err := json.Marshal(svc)
			if err != nil {
				return err
			}
			prev := answered
			next := make(chan struct{})
			answered = next
			go func() {
				<-prev
				_, _ = stdin.Write(append(payload, '\n'))
				close(next)
			}()
		case "debug":
		default:
			return fmt.Errorf("invalid response from plugin: %s: %w", msg.Type, errdefs.ErrFailedPrecondition)
		}
	}
}

// providerMetadataOf asks the program for its metadata; a program that
// has none gets every option.
func providerMetadataOf(ctx context.Context, program string, env []string) providerMetadata {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, program, "compose", "metadata")
	cmd.Env, cmd.Stdout = env, &out
	var meta providerMetadata
	if cmd.Run() != nil || json.Unmarshal(out.Bytes(), &meta) != nil {
		return providerMetadata{}
	}
	return meta
}

// providerEnv is what the services that depend on svc get from its
// provider: <SERVICE>_KEY for setenv, KEY for rawsetenv (with Docker
// Compose's warning when that changes a variable the service has), by
// service name.
func (e *Engine) providerEnv(p *types.Project, svc types.ServiceConfig, vars providerVars) map[string]types.MappingWithEquals {
	out := map[string]types.MappingWithEquals{}
	prefix := strings.ToUpper(svc.Name) + "_"
	for _, name := range sortedNames(p.Services) {
		s := p.Services[name]
		if _, ok := s.DependsOn[svc.Name]; !ok {
			continue
		}
		env := types.MappingWithEquals{}
		for k, v := range vars.prefixed {
			env[prefix+k] = &v
		}
		for k, v := range vars.raw {
			if old, ok := s.Environment[k]; ok && (old == nil || *old != v) {
				fmt.Fprintf(e.err, "WARN[0000] provider %q overrides environment variable %q in service %q\n", svc.Name, k, name)
			}
			env[k] = &v
		}
		out[name] = env
	}
	return out
}

// withEnv is svc with extra variables over its own.
func withEnv(svc types.ServiceConfig, extra types.MappingWithEquals) types.ServiceConfig {
	env := types.MappingWithEquals{}
	for k, v := range svc.Environment {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	svc.Environment = env
	return svc
}

// dependsOnProvider reports whether svc depends on a provider service:
// its environment is known only once that provider ran.
func dependsOnProvider(p *types.Project, svc types.ServiceConfig) bool {
	for dep := range svc.DependsOn {
		if d, ok := p.Services[dep]; ok && d.Provider != nil {
			return true
		}
	}
	return false
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	s = strings.TrimRight(s, "\n")
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// providersDo runs command (down or stop) for the project's provider
// services (only those named, when some are), dependents first, as
// Docker Compose does after their dependents' containers went.
func (e *Engine) providersDo(ctx context.Context, p *types.Project, g *graph.Graph, command string, only ...string) error {
	if p == nil || g == nil {
		return nil
	}
	return g.Walk(ctx, graph.Down, 1, func(ctx context.Context, name string) error {
		svc, ok := p.Services[name]
		if !ok || svc.Provider == nil || len(only) > 0 && !slices.Contains(only, name) {
			return nil
		}
		_, err := e.runProvider(ctx, p, svc, command)
		return err
	})
}
