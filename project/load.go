// Package project loads Compose projects exactly as Docker Compose does
// (file discovery, -f, .env, --env-file, profiles, interpolation, extends,
// include) on top of compose-go, prints them like `docker compose config`,
// and computes the per-service config hash.
package project

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	composeerr "github.com/compose-spec/compose-go/v2/errdefs"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/composer-dev/compose/errdefs"
)

// Options are the global Compose flags and environment that select a project.
type Options struct {
	ConfigPaths   []string // -f, repeatable; empty = COMPOSE_FILE, then discovery in WorkDir and its parents
	ProjectName   string   // -p; else COMPOSE_PROJECT_NAME; else `name:`; else directory base name
	ProjectDir    string   // --project-directory
	EnvFiles      []string // --env-file; COMPOSE_ENV_FILES (comma-separated) when empty
	Profiles      []string // --profile; COMPOSE_PROFILES when empty
	WorkDir       string   // cwd used for discovery and relative flags; "" = os.Getwd
	Environ       []string // environment; nil = os.Environ(), non-nil (even empty) is used as is
	NoInterpolate bool     // `config --no-interpolate`
	// `config --no-consistency`, `--no-normalize`, `--no-path-resolution`.
	NoConsistency, NoNormalize, NoResolvePaths bool
	// NoEnvResolution (`config --no-env-resolution`) leaves env_file
	// entries as they are instead of folding them into environment.
	NoEnvResolution bool
	// AllResources (--all-resources) keeps the networks and volumes no
	// service uses, which are otherwise dropped as Docker Compose drops them.
	AllResources bool
	// Services, when set, are the services the command acts on (`up web`):
	// only they and their dependencies get their env_file read.
	Services []string
	// NoEnvironment reads no env_file at all, as Docker Compose loads the
	// project for the commands on existing containers (projectOrName:
	// cli.WithoutEnvironmentResolution).
	NoEnvironment bool
}

// Load reads the project the options select, the way `docker compose config`
// sees it: interpolated, normalised, paths resolved, service environments
// resolved (env_file folded into environment; of Services and their
// dependencies only, when set), unused resources dropped (unless
// AllResources). Duplicate container names are the caller's to check
// (CheckContainerNames), among the services it acts on.
func Load(ctx context.Context, opts Options) (*types.Project, error) {
	po, err := projectOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(opts.Services) > 0 || opts.NoEnvironment {
		if err := cli.WithoutEnvironmentResolution(po); err != nil {
			return nil, err
		}
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, loadError(withFile(err, po.ConfigPaths))
	}
	if p.Name == "" {
		return nil, fmt.Errorf("project name can't be empty: %w", errdefs.ErrInvalidArgument)
	}
	if len(opts.Services) > 0 && !opts.NoEnvironment {
		if p, err = resolveSelectedEnvironment(p, opts.Services); err != nil {
			return nil, loadError(err)
		}
	}
	if !opts.AllResources {
		p = p.WithoutUnnecessaryResources()
	}
	return p, nil
}

// LoadModel returns the raw, merged model without binding it to types (what
// `config --no-interpolate` prints).
func LoadModel(ctx context.Context, opts Options) (map[string]any, error) {
	po, err := projectOptions(opts)
	if err != nil {
		return nil, err
	}
	m, err := po.LoadModel(ctx)
	if err != nil {
		return nil, loadError(withFile(err, po.ConfigPaths))
	}
	return m, nil
}

// projectOptions builds compose-go options in the order Docker Compose does
// (its `config` command options first, then the global ones), with the
// working directory and environment injected instead of taken from the process.
func projectOptions(opts Options) (*cli.ProjectOptions, error) {
	registerEnvFileFormats()
	wd := opts.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	wd, err := filepath.Abs(wd)
	if err != nil {
		return nil, err
	}
	abs := func(p string) string {
		if p == "" || p == "-" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(wd, p)
	}
	configs := make([]string, 0, len(opts.ConfigPaths))
	for _, c := range opts.ConfigPaths {
		configs = append(configs, abs(c))
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	files := opts.EnvFiles
	if len(files) == 0 {
		// Compose's --env-file default: comma-separated COMPOSE_ENV_FILES.
		files = strings.FieldsFunc(lookup(environ, "COMPOSE_ENV_FILES"), func(r rune) bool { return r == ',' })
	}
	envFiles := make([]string, 0, len(files))
	for _, f := range files {
		f = abs(f)
		// compose-go's error for this one has no class: check first.
		if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("couldn't find env file: %s: %w", f, errdefs.ErrNotFound)
		}
		envFiles = append(envFiles, f)
	}
	projectDir := abs(opts.ProjectDir)

	fns := []cli.ProjectOptionsFn{
		// `docker compose config` options.
		cli.WithInterpolation(!opts.NoInterpolate),
		cli.WithResolvedPaths(!opts.NoResolvePaths),
		cli.WithNormalization(!opts.NoNormalize),
		cli.WithConsistency(!opts.NoConsistency),
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithDiscardEnvFile,
		// Global options.
		cli.WithWorkingDirectory(projectDir),
		cli.WithEnv(environ),
	}
	if lookup(environ, "PWD") == "" {
		fns = append(fns, cli.WithEnv([]string{"PWD=" + wd}))
	}
	fns = append(fns,
		// Until a compose file is found, the default .env and discovery are
		// relative to the working directory (compose-go would use os.Getwd).
		withDiscoveryDir(projectDir, configs, wd),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		withConfigFileEnv(wd),
		cli.WithDefaultConfigPath,
		// Then the project directory may differ: load its .env too.
		withWorkingDir(projectDir),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithName(opts.ProjectName),
	)
	if opts.NoEnvResolution {
		fns = append(fns, cli.WithoutEnvironmentResolution)
	}
	po, err := cli.NewProjectOptions(configs, fns...)
	if err != nil {
		return nil, loadError(err)
	}
	return po, nil
}

// withDiscoveryDir makes compose-go look for .env and compose files in wd
// when neither --project-directory nor -f says otherwise.
func withDiscoveryDir(projectDir string, configs []string, wd string) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		if projectDir == "" && len(configs) == 0 {
			o.WorkingDir = wd
		}
		return nil
	}
}

func withWorkingDir(dir string) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		o.WorkingDir = dir
		return nil
	}
}

// withConfigFileEnv is cli.WithConfigFileEnv with relative paths resolved
// against wd instead of the process working directory.
func withConfigFileEnv(wd string) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		if len(o.ConfigPaths) > 0 {
			return nil
		}
		f, ok := o.Environment[consts.ComposeFilePath]
		if !ok {
			return nil
		}
		sep := o.Environment[consts.ComposePathSeparator]
		if sep == "" {
			sep = string(os.PathListSeparator)
		}
		for _, entry := range strings.Split(f, sep) {
			path := entry
			if path != "-" && !filepath.IsAbs(path) {
				path = filepath.Join(wd, path)
			}
			if path != "-" {
				fi, err := os.Stat(path)
				if err == nil && !fi.Mode().IsRegular() {
					err = errors.New("not a regular file")
				}
				if err != nil {
					return fmt.Errorf("compose file %q set by COMPOSE_FILE environment variable is invalid: %w", entry, err)
				}
			}
			o.ConfigPaths = append(o.ConfigPaths, path)
		}
		return nil
	}
}

// lookup returns the last value of key in environ, "" when unset.
func lookup(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			v = val
		}
	}
	return v
}

// withFile reports a compose file's YAML syntax error as Docker Compose
// does: yaml.v3's message, "yaml: line 3: did not find expected key" (the
// YAML library of the compose-go it builds with; compose-go's own reports
// some lines off by one). A file that parses leaves err as it is.
func withFile(err error, files []string) error {
	for _, f := range files {
		data, rerr := os.ReadFile(f)
		if rerr != nil {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			yerr := dec.Decode(&n)
			if errors.Is(yerr, io.EOF) {
				break
			}
			if yerr != nil {
				return errdefs.Mark(errdefs.ErrInvalidArgument, yerr)
			}
		}
	}
	return schemaMessage(err)
}

// unevaluated matches compose-go's report of a key its schema does not
// know in a service, "validating FILE: services.web.comand false schema"
// (its schema says unevaluatedProperties: false since it split services
// into container and workload specs).
var unevaluated = regexp.MustCompile(`^(validating .+: )(.+)\.([^.]+) false schema$`)

// schemaMessage words an unknown service key as Docker Compose does, from
// the schema of the compose-go it builds with: "validating FILE:
// services.web additional properties 'comand' not allowed". The error's
// class is kept.
func schemaMessage(err error) error {
	m := unevaluated.FindStringSubmatch(oneLine(err.Error()))
	if m == nil {
		return err
	}
	return &reworded{msg: fmt.Sprintf("%s%s additional properties '%s' not allowed", m[1], m[2], m[3]), err: err}
}

// reworded is err with the message Docker Compose gives it.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }

// loadError makes a compose-go error one line and gives it our class.
func loadError(err error) error {
	msg := oneLine(err.Error())
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, composeerr.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return errdefs.Mark(errdefs.ErrNotFound, errors.New(msg))
	default:
		return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
