package project

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

// writeFiles creates files (path relative to dir -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		opts  Options // WorkDir is relative to the test directory
		check func(t *testing.T, dir string, p *types.Project)
	}{
		{
			name:  "discovery in parent folder",
			files: map[string]string{"proj/compose.yaml": "services:\n  web:\n    image: nginx\n", "proj/sub/deeper/.keep": ""},
			opts:  Options{WorkDir: "proj/sub/deeper"},
			check: func(t *testing.T, dir string, p *types.Project) {
				if p.Name != "proj" || p.WorkingDir != filepath.Join(dir, "proj") {
					t.Errorf("name %q dir %q", p.Name, p.WorkingDir)
				}
				if !slices.Equal(p.ComposeFiles, []string{filepath.Join(dir, "proj", "compose.yaml")}) {
					t.Errorf("compose files %v", p.ComposeFiles)
				}
			},
		},
		{
			name:  "discovery prefers compose.yaml and adds override",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: a\n", "docker-compose.yml": "services:\n  web:\n    image: b\n", "compose.override.yaml": "services:\n  web:\n    environment: [X=1]\n"},
			check: func(t *testing.T, dir string, p *types.Project) {
				web := p.Services["web"]
				if web.Image != "a" || *web.Environment["X"] != "1" {
					t.Errorf("web %+v", web)
				}
			},
		},
		{
			name: "-f multiple files merged",
			files: map[string]string{
				"a.yaml": "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n  db:\n    image: postgres\n",
				"b.yaml": "services:\n  web:\n    image: nginx:2\n    environment:\n      MODE: prod\n",
			},
			opts: Options{ConfigPaths: []string{"a.yaml", "b.yaml"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				web := p.Services["web"]
				if web.Image != "nginx:2" || len(web.Ports) != 1 || *web.Environment["MODE"] != "prod" {
					t.Errorf("web %+v", web)
				}
				if _, ok := p.Services["db"]; !ok {
					t.Error("db missing")
				}
			},
		},
		{
			name: ".env and interpolation, environment wins over .env",
			files: map[string]string{
				".env":         "TAG=1.2\nPORT=8080\n",
				"compose.yaml": "services:\n  web:\n    image: busybox:${TAG}\n    environment:\n      PORT: ${PORT}\n      DEF: ${UNSET:-fallback}\n      LIT: $$HOME\n",
			},
			opts: Options{Environ: []string{"PORT=9090"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				web := p.Services["web"]
				if web.Image != "busybox:1.2" {
					t.Errorf("image %q", web.Image)
				}
				env := web.Environment
				if *env["PORT"] != "9090" || *env["DEF"] != "fallback" || *env["LIT"] != "$HOME" {
					t.Errorf("env %v", env)
				}
			},
		},
		{
			name: "--env-file replaces .env",
			files: map[string]string{
				".env":         "TAG=dot\n",
				"prod.env":     "TAG=prod\n",
				"compose.yaml": "services:\n  web:\n    image: busybox:${TAG}\n",
			},
			opts: Options{EnvFiles: []string{"prod.env"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				if img := p.Services["web"].Image; img != "busybox:prod" {
					t.Errorf("image %q", img)
				}
			},
		},
		{
			name: "COMPOSE_ENV_FILES",
			files: map[string]string{
				".env":         "TAG=dot\n",
				"a.env":        "TAG=a\nX=a\n",
				"b.env":        "TAG=b\n",
				"compose.yaml": "services:\n  web:\n    image: busybox:${TAG}-${X}\n",
			},
			opts: Options{Environ: []string{"COMPOSE_ENV_FILES=a.env,b.env"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				if img := p.Services["web"].Image; img != "busybox:b-a" {
					t.Errorf("image %q", img)
				}
			},
		},
		{
			name: "env_file folded into environment",
			files: map[string]string{
				"web.env":      "A=1\nB=2\n",
				"compose.yaml": "services:\n  web:\n    image: x\n    env_file: web.env\n    environment:\n      B: 3\n",
			},
			check: func(t *testing.T, dir string, p *types.Project) {
				web := p.Services["web"]
				if *web.Environment["A"] != "1" || *web.Environment["B"] != "3" || len(web.EnvFiles) != 0 {
					t.Errorf("env %v env_file %v", web.Environment, web.EnvFiles)
				}
			},
		},
		{
			name:  "profiles from COMPOSE_PROFILES",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: x\n  debug:\n    image: y\n    profiles: [dbg]\n  other:\n    image: z\n    profiles: [other]\n"},
			opts:  Options{Environ: []string{"COMPOSE_PROFILES=dbg"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				if got := p.ServiceNames(); !slices.Equal(sorted(got), []string{"debug", "web"}) {
					t.Errorf("services %v", got)
				}
				if _, ok := p.DisabledServices["other"]; !ok {
					t.Errorf("other should be disabled")
				}
			},
		},
		{
			name:  "profiles option wins over COMPOSE_PROFILES",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: x\n  debug:\n    image: y\n    profiles: [dbg]\n  other:\n    image: z\n    profiles: [other]\n"},
			opts:  Options{Profiles: []string{"other"}, Environ: []string{"COMPOSE_PROFILES=dbg"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				if got := p.ServiceNames(); !slices.Equal(sorted(got), []string{"other", "web"}) {
					t.Errorf("services %v", got)
				}
			},
		},
		{
			name: "extends",
			files: map[string]string{
				"common.yaml":  "services:\n  base:\n    image: busybox\n    environment:\n      A: '1'\n",
				"compose.yaml": "services:\n  web:\n    extends:\n      file: common.yaml\n      service: base\n    environment:\n      B: '2'\n",
			},
			check: func(t *testing.T, dir string, p *types.Project) {
				web := p.Services["web"]
				if web.Image != "busybox" || *web.Environment["A"] != "1" || *web.Environment["B"] != "2" {
					t.Errorf("web %+v", web)
				}
			},
		},
		{
			name: "include",
			files: map[string]string{
				"db/compose.yaml": "services:\n  db:\n    image: postgres\n    volumes: [./data:/data]\n",
				"compose.yaml":    "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: x\n    depends_on: [db]\n",
			},
			check: func(t *testing.T, dir string, p *types.Project) {
				db, ok := p.Services["db"]
				if !ok {
					t.Fatal("db not included")
				}
				// paths in an included file are relative to that file
				if src := db.Volumes[0].Source; src != filepath.Join(dir, "db", "data") {
					t.Errorf("db volume source %q", src)
				}
			},
		},
		{
			name:  "COMPOSE_FILE relative to work dir",
			files: map[string]string{"x/one.yaml": "services:\n  a:\n    image: x\n", "x/two.yaml": "services:\n  b:\n    image: y\n"},
			opts:  Options{Environ: []string{"COMPOSE_FILE=x/one.yaml:x/two.yaml"}},
			check: func(t *testing.T, dir string, p *types.Project) {
				if got := sorted(p.ServiceNames()); !slices.Equal(got, []string{"a", "b"}) || p.Name != "x" {
					t.Errorf("services %v name %q", got, p.Name)
				}
			},
		},
		{
			name:  "project directory",
			files: map[string]string{"files/compose.yaml": "services:\n  a:\n    image: x\n    build: ./ctx\n", "other/.env": "X=1\n"},
			opts:  Options{ConfigPaths: []string{"files/compose.yaml"}, ProjectDir: "other"},
			check: func(t *testing.T, dir string, p *types.Project) {
				if p.Name != "other" || p.Services["a"].Build.Context != filepath.Join(dir, "other", "ctx") || p.Environment["X"] != "1" {
					t.Errorf("name %q build %+v", p.Name, p.Services["a"].Build)
				}
			},
		},
		{
			name:  "unused resources dropped",
			files: map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    volumes: [used:/u]\nvolumes:\n  used: {}\n  unused: {}\nnetworks:\n  lonely: {}\n"},
			check: func(t *testing.T, dir string, p *types.Project) {
				if _, ok := p.Volumes["unused"]; ok {
					t.Error("unused volume kept")
				}
				if _, ok := p.Networks["lonely"]; ok {
					t.Error("unused network kept")
				}
				if _, ok := p.Volumes["used"]; !ok {
					t.Error("used volume dropped")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			opts := tt.opts
			opts.WorkDir = filepath.Join(dir, opts.WorkDir)
			if opts.Environ == nil {
				opts.Environ = []string{}
			}
			p, err := Load(t.Context(), opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, dir, p)
		})
	}
}

func TestProjectName(t *testing.T) {
	tests := []struct {
		name    string
		dirName string
		yamlNm  string
		env     []string
		flag    string
		want    string
		wantErr error
	}{
		{name: "dir base name normalised", dirName: "My.Proj_1 X", want: "myproj_1x"},
		{name: "name in yaml", dirName: "d", yamlNm: "fromyaml", want: "fromyaml"},
		{name: "env beats yaml", dirName: "d", yamlNm: "fromyaml", env: []string{"COMPOSE_PROJECT_NAME=fromenv"}, want: "fromenv"},
		{name: "env from .env file", dirName: "d", env: nil, want: "fromdotenv"},
		{name: "flag beats env", dirName: "d", yamlNm: "fromyaml", env: []string{"COMPOSE_PROJECT_NAME=fromenv"}, flag: "fromflag", want: "fromflag"},
		{name: "invalid flag", dirName: "d", flag: "Bad Name", wantErr: errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), tt.dirName)
			content := "services:\n  a:\n    image: x\n"
			if tt.yamlNm != "" {
				content = "name: " + tt.yamlNm + "\n" + content
			}
			files := map[string]string{"compose.yaml": content}
			if tt.want == "fromdotenv" {
				files[".env"] = "COMPOSE_PROJECT_NAME=fromdotenv\n"
			}
			writeFiles(t, dir, files)
			env := tt.env
			if env == nil {
				env = []string{}
			}
			p, err := Load(t.Context(), Options{WorkDir: dir, ProjectName: tt.flag, Environ: env})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.want {
				t.Errorf("name %q, want %q", p.Name, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		opts     Options
		class    error
		contains []string
		exact    string // the whole message, when set
	}{
		{
			name:     "no compose file",
			files:    map[string]string{"empty/.keep": ""},
			opts:     Options{WorkDir: "empty"},
			class:    errdefs.ErrNotFound,
			contains: []string{"no configuration file provided: not found"},
		},
		{
			name:     "missing -f file",
			opts:     Options{ConfigPaths: []string{"nope.yaml"}},
			class:    errdefs.ErrNotFound,
			contains: []string{"nope.yaml"},
		},
		{
			// Docker Compose prints yaml.v3's message alone (its compose-go
			// parses with it): "yaml: line 3: did not find expected ',' or ']'".
			name:  "yaml syntax error, as yaml.v3 words it",
			files: map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    command: [a\n"},
			class: errdefs.ErrInvalidArgument,
			exact: "yaml: line 3: did not find expected ',' or ']'",
		},
		{
			name:  "yaml syntax error in second -f file",
			files: map[string]string{"a.yaml": "services:\n  a:\n    image: x\n", "b.yaml": "services:\n\tb: x\n"},
			opts:  Options{ConfigPaths: []string{"a.yaml", "b.yaml"}},
			class: errdefs.ErrInvalidArgument,
			exact: "yaml: line 2: found character that cannot start any token",
		},
		{
			// Docker Compose (compose-go's schema check, the path then
			// jsonschema's words): "validating <file>: services.a additional
			// properties 'bogus' not allowed".
			name:     "misspelled service key",
			files:    map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    bogus: 1\n"},
			class:    errdefs.ErrInvalidArgument,
			contains: []string{"validating ", "compose.yaml: services.a additional properties 'bogus' not allowed"},
		},
		{
			name:     "misspelled top-level key",
			files:    map[string]string{"compose.yaml": "servics:\n  a:\n    image: x\n"},
			class:    errdefs.ErrInvalidArgument,
			contains: []string{"additional properties 'servics' not allowed"},
		},
		{
			name:     "depends on unknown service",
			files:    map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    depends_on: [ghost]\n"},
			class:    errdefs.ErrInvalidArgument,
			contains: []string{"ghost"},
		},
		{
			name:     "missing --env-file",
			files:    map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n"},
			opts:     Options{EnvFiles: []string{"missing.env"}},
			class:    errdefs.ErrNotFound,
			contains: []string{"missing.env"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			opts := tt.opts
			opts.WorkDir = filepath.Join(dir, opts.WorkDir)
			opts.Environ = []string{}
			_, err := Load(t.Context(), opts)
			if !errors.Is(err, tt.class) {
				t.Fatalf("err %v, want class %v", err, tt.class)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("multi-line error: %q", msg)
			}
			for _, c := range tt.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("error %q does not contain %q", msg, c)
				}
			}
			if got := errdefs.Message(err); tt.exact != "" && got != tt.exact {
				t.Errorf("message %q, want %q", got, tt.exact)
			}
		})
	}
}

func TestSelectServices(t *testing.T) {
	p := &types.Project{
		Services:         types.Services{"web": {Name: "web"}, "db": {Name: "db"}},
		DisabledServices: types.Services{"debug": {Name: "debug"}},
	}
	tests := []struct {
		names   []string
		wantErr string
	}{
		{names: nil},
		{names: []string{"web", "db"}},
		{names: []string{"debug"}},
		{names: []string{"web", "nope"}, wantErr: "no such service: nope"},
	}
	for _, tt := range tests {
		err := SelectServices(p, tt.names)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.names, err)
			}
			continue
		}
		if !errors.Is(err, errdefs.ErrNotFound) || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("%v: err %v, want %q (not found)", tt.names, err, tt.wantErr)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
