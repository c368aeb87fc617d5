package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/errdefs"
)

// instruction parses one Dockerfile line.
func instruction(t *testing.T, line string) instructions.Command {
	t.Helper()
	res, err := parser.Parse(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	v, err := instructions.ParseInstruction(res.AST.Children[0])
	if err != nil {
		t.Fatal(err)
	}
	return v.(instructions.Command)
}

// apply evaluates lines in order on cfg, expanding like the builder does.
func apply(t *testing.T, cfg *v1.ConfigFile, args *env, buildArgs map[string]string, lines ...string) {
	t.Helper()
	d := &dockerfile{name: "Dockerfile", lex: newLex()}
	r := &run{d: d}
	for _, l := range lines {
		c := instruction(t, l)
		st := &state{cfg: *cfg, args: *args}
		if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if err := ex.Expand(r.expander(st)); err != nil {
				t.Fatal(err)
			}
		}
		if err := applyConfig(cfg, args, c, buildArgs, env{"GLOBAL=g"}); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
}

func TestApplyConfig(t *testing.T) {
	cfg := &v1.ConfigFile{Config: v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"base"}}}
	var args env
	apply(t, cfg, &args, map[string]string{"GIVEN": "from-flag"},
		"ARG GIVEN=default",
		"ARG DEF=d1",
		"ARG GLOBAL",
		"ARG UNSET",
		"ENV A=$DEF B=${GIVEN}-x",
		"ENV DEF=env-wins",
		"ENV C=$DEF",
		"WORKDIR /app",
		"WORKDIR sub",
		"USER 1000:1000",
		"EXPOSE 80 53/udp",
		"LABEL a=b c=\"d e\"",
		"VOLUME /data",
		"STOPSIGNAL SIGUSR1",
		"SHELL [\"/bin/bash\", \"-c\"]",
		"CMD echo $HOME",
		"HEALTHCHECK --interval=5s CMD [\"true\"]",
	)
	wantArgs := env{"GIVEN=from-flag", "DEF=d1", "GLOBAL=g"}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("args = %v, want %v", args, wantArgs)
	}
	c := cfg.Config
	wantEnv := []string{"PATH=/bin", "A=d1", "B=from-flag-x", "DEF=env-wins", "C=env-wins"}
	if !reflect.DeepEqual(c.Env, wantEnv) {
		t.Errorf("env = %v, want %v", c.Env, wantEnv)
	}
	if c.WorkingDir != "/app/sub" || c.User != "1000:1000" || c.StopSignal != "SIGUSR1" {
		t.Errorf("workdir %q user %q stopsignal %q", c.WorkingDir, c.User, c.StopSignal)
	}
	if _, ok := c.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if c.Labels["c"] != "d e" || c.Labels["a"] != "b" {
		t.Errorf("labels %v", c.Labels)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", c.Volumes)
	}
	if want := []string{"/bin/bash", "-c", "echo $HOME"}; !reflect.DeepEqual(c.Cmd, want) {
		t.Errorf("cmd (shell form with SHELL) = %q, want %q", c.Cmd, want)
	}
	if c.Healthcheck == nil || !reflect.DeepEqual(c.Healthcheck.Test, []string{"CMD", "true"}) || c.Healthcheck.Interval.Seconds() != 5 {
		t.Errorf("healthcheck %+v", c.Healthcheck)
	}

	apply(t, cfg, &args, nil, `ENTRYPOINT ["/entry"]`)
	if !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/entry"}) || cfg.Config.Cmd != nil {
		t.Errorf("ENTRYPOINT: entrypoint %q cmd %q (a new entrypoint drops CMD)", cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
}

func TestCommandLineForms(t *testing.T) {
	run := instruction(t, `RUN ["echo", "a b"]`).(*instructions.RunCommand)
	if got := commandLine(nil, run.ShellDependantCmdLine); !reflect.DeepEqual(got, []string{"echo", "a b"}) {
		t.Errorf("exec form: %q", got)
	}
	run = instruction(t, `RUN echo "a  b" && true`).(*instructions.RunCommand)
	if got := commandLine(nil, run.ShellDependantCmdLine); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", `echo "a  b" && true`}) {
		t.Errorf("shell form: %q", got)
	}
}

func TestStagesNeeded(t *testing.T) {
	d, err := parseDockerfile("Dockerfile", []byte(`ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-latest} AS base
RUN true
FROM base AS unused
RUN false
FROM scratch AS assets
COPY x /x
FROM base AS final
COPY --from=assets /x /x
COPY --from=0 /etc /etc
FROM final AS other
`))
	if err != nil {
		t.Fatal(err)
	}
	global, err := d.globalArgs(map[string]string{"TAG": "1.36"})
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := d.baseName(0, global); name != "busybox:1.36" {
		t.Errorf("FROM with global args = %q", name)
	}
	if v, _ := global.Get("TARGETOS"); v != "linux" {
		t.Errorf("TARGETOS = %q", v)
	}
	for _, tc := range []struct {
		target string
		want   []int
	}{
		{"final", []int{0, 2, 3}},
		{"", []int{0, 2, 3, 4}},
		{"unused", []int{0, 1}},
		{"ASSETS", []int{2}},
	} {
		i, err := d.target(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.needed(i, global)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("target %q: stages %v, want %v", tc.target, got, tc.want)
		}
	}
	if _, err := d.target("nope"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, df := range []string{"", "RUN true\n", "FROM busybox\nBOGUS x\n", "FROM busybox\nCOPY onlyone\n"} {
		_, err := parseDockerfile("Dockerfile", []byte(df))
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%q: error %v, want invalid argument", df, err)
		}
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestContextMatchAndIgnore(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dockerignore":             "**/*.log\nbuild/\n!build/keep.txt\n",
		"Dockerfile.dockerignore.x": "",
		"a.go":                      "package a",
		"b.go":                      "package b",
		"src/c.go":                  "package c",
		"src/d.log":                 "log",
		"build/out.bin":             "bin",
		"build/keep.txt":            "keep",
	})
	os.Symlink("/etc", filepath.Join(dir, "escape"))
	os.Symlink("src", filepath.Join(dir, "inside"))
	c, err := newContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.match("*.go")
	if err != nil || len(m) != 2 || m[0].rel != "a.go" || m[1].rel != "b.go" {
		t.Fatalf("glob *.go: %v %v", m, err)
	}
	var seen []string
	src, _ := c.match(".")
	c.walk(src[0], func(rel, _ string, _ os.FileInfo) error {
		seen = append(seen, rel)
		return nil
	})
	for _, bad := range []string{"src/d.log", "build/out.bin"} {
		if slices.Contains(seen, bad) {
			t.Errorf("ignored %s walked: %v", bad, seen)
		}
	}
	for _, good := range []string{"src/c.go", "build/keep.txt"} {
		if !slices.Contains(seen, good) {
			t.Errorf("%s not walked: %v", good, seen)
		}
	}
	if _, err := c.match("escape"); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "outside the build context") {
		t.Errorf("symlink out of the context: %v", err)
	}
	if m, err := c.match("inside"); err != nil || !m[0].info.IsDir() {
		t.Errorf("symlink inside the context: %v %v", m, err)
	}
	if _, err := c.match("src/d.log"); !errdefs.IsNotFound(err) {
		t.Errorf("ignored file: %v", err)
	}
	// A symlink to an ignored file does not bring it in (BuildKit: ignored
	// files are not in the context at all).
	os.Symlink("src/d.log", filepath.Join(dir, "tolog"))
	os.Symlink("build", filepath.Join(dir, "tobuild"))
	if _, err := c.match("tolog"); !errdefs.IsNotFound(err) {
		t.Errorf("a symlink to an ignored file: %v", err)
	}
	if _, err := c.match("tobuild/out.bin"); !errdefs.IsNotFound(err) {
		t.Errorf("a path through a symlink to an ignored directory: %v", err)
	}
	if _, err := c.match("../../etc/passwd"); !errdefs.IsNotFound(err) {
		t.Errorf("a path climbing out must stay in the context: %v", err)
	}

	// <Dockerfile>.dockerignore wins over .dockerignore.
	writeTree(t, dir, map[string]string{"Dockerfile.dockerignore": "a.go\n"})
	c2, _ := newContext(dir, filepath.Join(dir, "Dockerfile"))
	if _, err := c2.match("a.go"); !errdefs.IsNotFound(err) {
		t.Errorf("Dockerfile.dockerignore not used: %v", err)
	}
	if _, err := c2.match("src/d.log"); err != nil {
		t.Errorf(".dockerignore used although Dockerfile.dockerignore exists: %v", err)
	}
}

func TestContextDigest(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"d/a": "1", "d/b": "2"})
	digest := func() string {
		c, _ := newContext(dir, "")
		s, err := c.match("d")
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.digest(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1 := digest()
	os.Chtimes(filepath.Join(dir, "d/a"), time1, time1)
	if digest() != d1 {
		t.Error("digest changed with mtime only")
	}
	os.WriteFile(filepath.Join(dir, "d/a"), []byte("3"), 0o644)
	if digest() == d1 {
		t.Error("digest unchanged after a content change")
	}
	os.Chmod(filepath.Join(dir, "d/b"), 0o600)
	d2 := digest()
	os.Chmod(filepath.Join(dir, "d/b"), 0o644)
	if digest() == d2 {
		t.Error("digest unchanged after a mode change")
	}
}

func TestStepKeyChains(t *testing.T) {
	a := stepKey("p", "RUN x")
	if a == stepKey("q", "RUN x") || a == stepKey("p", "RUN y") || a != stepKey("p", "RUN x") {
		t.Error("step keys must depend on parent and instruction, and be stable")
	}
	if stepKey("p", "ab", "c") == stepKey("p", "a", "bc") {
		t.Error("parts must be delimited")
	}
}

func TestWriteLayer(t *testing.T) {
	upper := t.TempDir()
	writeTree(t, upper, map[string]string{"etc/conf": "x", "bin/tool": "tool"})
	os.Symlink("tool", filepath.Join(upper, "bin/alias"))
	os.Link(filepath.Join(upper, "bin/tool"), filepath.Join(upper, "bin/hard"))
	root := os.Geteuid() == 0
	if root { // whiteouts and opaque dirs need root (mknod, trusted xattrs)
		if err := unix.Mknod(filepath.Join(upper, "etc/gone"), unix.S_IFCHR, 0); err != nil {
			t.Fatal(err)
		}
		os.Mkdir(filepath.Join(upper, "opq"), 0o755)
		if err := unix.Setxattr(filepath.Join(upper, "opq"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := writeLayer(upper, &buf); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	if h := got["bin/alias"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "tool" {
		t.Errorf("symlink: %+v", h)
	}
	if h := got["bin/tool"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "bin/hard" {
		t.Errorf("hard link (the second name links to the first): %+v", h)
	}
	if h := got["etc/conf"]; h == nil || h.Size != 1 {
		t.Errorf("file: %+v", h)
	}
	if root {
		if got["etc/.wh.gone"] == nil || got["etc/gone"] != nil {
			t.Errorf("whiteout not converted: %v", keys(got))
		}
		if got["opq/.wh..wh..opq"] == nil {
			t.Errorf("opaque dir not marked: %v", keys(got))
		}
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestWriterStaysInRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	// An image symlink pointing at an absolute host path resolves inside the root.
	os.Symlink(outside, filepath.Join(root, "link"))
	os.Symlink("/etc/passwd", filepath.Join(root, "etc/target"))
	w := &writer{root: root, owner: &[2]int{os.Getuid(), os.Getgid()}} // no root needed
	if err := w.putData("/link/f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err == nil {
		t.Fatal("a write followed a symlink out of the root")
	}
	if _, err := os.Stat(filepath.Join(root, outside, "f")); err != nil {
		t.Errorf("write not inside the root: %v", err)
	}
	// A symlink at the destination is replaced, not written through.
	if err := w.putData("/etc/target", []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "etc/target")); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("destination symlink not replaced: %v %v", fi, err)
	}
}

func TestParseChownChmod(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"etc/passwd": "bob:x:1001:1002::/home/bob:/bin/sh\n", "etc/group": "staff:x:50:\n"})
	for _, tc := range []struct {
		in   string
		want [2]int
	}{{"bob", [2]int{1001, 1001}}, {"bob:staff", [2]int{1001, 50}}, {"7:8", [2]int{7, 8}}} {
		got, err := parseChown(root, tc.in)
		if err != nil || *got != tc.want {
			t.Errorf("--chown=%s: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseChown(root, "alice"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown user: %v", err)
	}
	if m, err := parseChmod("0755"); err != nil || *m != 0o755 {
		t.Errorf("--chmod 0755: %v %v", m, err)
	}
	if _, err := parseChmod("u+x"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("--chmod u+x: %v", err)
	}
}

var time1 = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func newLex() *shell.Lex { return shell.NewLex('\\') }

func TestExposedPorts(t *testing.T) {
	got, err := exposedPorts("8000-8002/UDP")
	if err != nil || !slices.Equal(got, []string{"8000/udp", "8001/udp", "8002/udp"}) {
		t.Errorf("range: %v %v", got, err)
	}
	for _, bad := range []string{"http", "90-80", "70000"} {
		if _, err := exposedPorts(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMountFroms(t *testing.T) {
	got := mountFroms(`RUN --mount=type=bind,from=builder,source=/x,target=/y --mount=type=cache,target=/c --mount=from=assets,target=/a true`)
	if !slices.Equal(got, []string{"builder", "assets"}) {
		t.Errorf("mountFroms = %v", got)
	}
}

func TestDropCreated(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	writeTree(t, lower, map[string]string{"run/existing": "x"})
	writeTree(t, upper, map[string]string{"run/secrets/tok": "", "etc/hosts": "", "keep/file": "data"})
	dropCreated(upper, []string{lower}, "/run/secrets/tok")
	dropCreated(upper, []string{lower}, "/etc/hosts")
	dropCreated(upper, []string{lower}, "/keep/file")
	for p, want := range map[string]bool{"run/secrets": false, "run": true, "etc": false, "keep/file": true} {
		_, err := os.Lstat(filepath.Join(upper, p))
		if (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", p, err == nil, want)
		}
	}
}

func TestHeredocScript(t *testing.T) {
	parse := func(df string) instructions.ShellDependantCmdLine {
		res, err := parser.Parse(strings.NewReader(df))
		if err != nil {
			t.Fatal(err)
		}
		v, err := instructions.ParseInstruction(res.AST.Children[0])
		if err != nil {
			t.Fatal(err)
		}
		return v.(*instructions.RunCommand).ShellDependantCmdLine
	}
	if got, _ := heredocScript(parse("RUN <<EOF\necho a\necho b\nEOF\n")); got != "echo a\necho b\n" {
		t.Errorf("heredoc only: %q", got)
	}
	if got, _ := heredocScript(parse("RUN cat <<EOF > /f\nline\nEOF\n")); got != "cat <<EOF > /f\nline\nEOF" {
		t.Errorf("heredoc in a command: %q", got)
	}
}

func TestVerifyChecksum(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f": "hello\n"})
	c, _ := newContext(dir, "")
	r := &run{ctx: c}
	srcs, _ := c.match("f")
	const sum = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if err := r.verifyChecksum(srcs, sum); err != nil {
		t.Errorf("matching checksum: %v", err)
	}
	if err := r.verifyChecksum(srcs, "sha256:00"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("wrong checksum: %v", err)
	}
	if err := r.verifyChecksum(srcs, "md5:00"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("md5: %v", err)
	}
}

func TestRememberedDigests(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{"f": "aaaa"})
	f := filepath.Join(dir, "f")
	os.Chtimes(f, time1, time1)
	digest := func() (string, *buildContext) {
		c, _ := newContext(dir, "")
		c.loadDigests(cacheDir)
		s, _ := c.match("f")
		d, err := c.digest(s)
		if err != nil {
			t.Fatal(err)
		}
		c.saveDigests()
		return d, c
	}
	d1, c := digest()
	if c.dirty {
		t.Error("a file changed just now was remembered")
	}
	for k, v := range c.hashes { // as if hashed a minute after its last change
		c.seen[k] = knownFile{Stat: statOf(t, k), Digest: v}
	}
	c.dirty = true
	c.saveDigests()
	d2, c := digest()
	if d1 != d2 || c.dirty {
		t.Errorf("second digest: %v, rehashed=%v", d1 == d2, c.dirty)
	}
	// Same size and mtime, new content: the ctime tells.
	os.WriteFile(f, []byte("bbbb"), 0o644)
	os.Chtimes(f, time1, time1)
	if d3, _ := digest(); d3 == d1 {
		t.Error("a rewritten file with the same size and mtime kept its old digest")
	}
}

func statOf(t *testing.T, p string) string {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return statKey(&st)
}
