package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

// TestK8sCommand: compose k8s runs the compose-k8s beside compose (through
// a symlink to compose too), with the global flags that select the project.
func TestK8sCommand(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "compose")
	for _, f := range []string{exe, filepath.Join(dir, k8sBinary)} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(t.TempDir(), "compose")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	g := &globalOptions{files: []string{"a.yaml", "b.yaml"}, name: "demo", projectDir: "/src", envFiles: []string{".env.k8s"}, profiles: []string{"prod"}, dryRun: true}
	path, argv, err := k8sCommand(link, g, []string{"apply", "--namespace", "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, k8sBinary); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	want := []string{k8sBinary, "--file", "a.yaml", "--file", "b.yaml", "--project-name", "demo", "--project-directory", "/src",
		"--env-file", ".env.k8s", "--profile", "prod", "--dry-run", "apply", "--namespace", "demo"}
	if !slices.Equal(argv, want) {
		t.Errorf("argv %q\nwant %q", argv, want)
	}
}

// TestK8sCommandMissing: without compose-k8s, one line says what is
// missing and how to get it.
func TestK8sCommandMissing(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "compose")
	_, _, err := k8sCommand(exe, &globalOptions{}, []string{"export"})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("err = %v, want a failed precondition", err)
	}
	msg := errdefs.Message(err)
	if strings.Contains(msg, "\n") || !strings.Contains(msg, k8sBinary) || !strings.Contains(msg, "make build") {
		t.Errorf("message %q", msg)
	}
}
