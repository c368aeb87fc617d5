package project

import (
	"errors"
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

// Docker Compose resolves the environment of the selected services only
// (cmd/compose/compose.go: cli.WithoutEnvironmentResolution, then
// WithServicesEnvironmentResolved on the selected project), and checks
// container names on the project it acts on (pkg/compose/create.go).
func TestSelectedServices(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yaml": `
services:
  web:
    image: busybox
    env_file: ./web.env
    depends_on: [db]
  db:
    image: busybox
    env_file: ./db.env
  broken:
    image: busybox
    env_file: ./missing.env
  one:
    image: busybox
    container_name: same
  two:
    image: busybox
    container_name: same
`,
		"web.env": "FROM_WEB=1\n",
		"db.env":  "FROM_DB=1\n",
	})
	env := []string{"PATH=/usr/bin"}
	p, err := Load(t.Context(), Options{WorkDir: dir, Environ: env, Services: []string{"web"}})
	if err != nil {
		t.Fatalf("up web with broken's env_file missing: %v", err)
	}
	if v := p.Services["web"].Environment["FROM_WEB"]; v == nil || *v != "1" {
		t.Errorf("web's env_file not read: %v", p.Services["web"].Environment)
	}
	if v := p.Services["db"].Environment["FROM_DB"]; v == nil || *v != "1" {
		t.Errorf("db (a dependency of web) env_file not read: %v", p.Services["db"].Environment)
	}
	if _, err := Load(t.Context(), Options{WorkDir: dir, Environ: env}); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("every service: %v, want broken's env_file missing", err)
	}
	if _, err := Load(t.Context(), Options{WorkDir: dir, Environ: env, NoEnvironment: true}); err != nil {
		t.Errorf("no env_file read: %v", err)
	}
	if err := CheckContainerNames(p, []string{"web", "one"}); err != nil {
		t.Errorf("one name per service: %v", err)
	}
	err = CheckContainerNames(p, []string{"one", "two"})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `container name "same" is already in use by service`) {
		t.Errorf("one and two: %v", err)
	}
}
