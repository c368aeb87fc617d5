package project

import (
	"context"
	"testing"
)

// `format: raw` reads an env_file with the parser of `docker run
// --env-file` (Docker Compose's cmd/compose/compose.go rawEnv over
// docker/cli's kvfile): quotes, `$` and spaces stay as written, `#` lines
// are comments, and a bare NAME is taken from the environment.
func TestEnvFileRawFormat(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yaml": `services:
  app:
    image: busybox
    env_file:
      - path: ./app.env
        format: raw
      - path: ./dot.env
`,
		"app.env": "# a comment\nQUOTED=\"kept\"\nDOLLAR=$HOME/x\nSPACES=  a b  \nFROM_ENV\nMISSING_VAR\n",
		"dot.env": "DOT=\"unquoted\"\n",
	})
	p, err := Load(context.Background(), Options{WorkDir: dir, Environ: []string{"FROM_ENV=host", "HOME=/root"}})
	if err != nil {
		t.Fatal(err)
	}
	env := p.Services["app"].Environment
	want := map[string]string{"QUOTED": `"kept"`, "DOLLAR": "$HOME/x", "SPACES": "  a b  ", "FROM_ENV": "host", "DOT": "unquoted"}
	for k, v := range want {
		if got := env[k]; got == nil || *got != v {
			t.Errorf("%s = %v, want %q", k, got, v)
		}
	}
	if _, ok := env["MISSING_VAR"]; ok {
		t.Errorf("MISSING_VAR (unset) should be left out: %v", env)
	}
}
