package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/k8s/export"
)

const projectDir = "../../project/testdata/corpus/awesome-compose/nginx-golang-postgres"

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// TestExport: the YAML on stdout, one warning a line on stderr; with -o,
// files and nothing on stdout.
func TestExport(t *testing.T) {
	out, errOut, err := run(t, "--project-directory", projectDir, "export")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, export.Header) || !strings.Contains(out, "\nkind: StatefulSet\n") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(line, `WARN[0000] service "`) {
			t.Errorf("stderr line %q", line)
		}
	}
	if !strings.Contains(errOut, `service "backend": build: `) {
		t.Errorf("no warning about backend's build:\n%s", errOut)
	}

	dir := filepath.Join(t.TempDir(), "out")
	out, _, err = run(t, "--project-directory", projectDir, "export", "-o", dir, "--namespace", "shop")
	if err != nil || out != "" {
		t.Fatalf("export -o: %v, stdout %q", err, out)
	}
	ns, err := os.ReadFile(filepath.Join(dir, "00-namespace-shop.yaml"))
	if err != nil || !strings.Contains(string(ns), "kind: Namespace") {
		t.Errorf("namespace file: %v\n%s", err, ns)
	}
}

// TestDownNeedsAProject: without compose files and without -p there is
// no project to remove.
func TestDownNeedsAProject(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	_, _, err := run(t, "down", "--kubeconfig", filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}
