package e2e

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/registrytest"
	"github.com/composer-dev/compose/internal/testutil"
)

// writerProject's service writes /hello into its root filesystem.
const writerProject = "services:\n  app:\n    image: busybox\n    command: [sh, -c, 'echo from-container > /hello; sleep 1000']\n    stop_grace_period: 1s\n"

// TestExport: `docker compose export` writes the running container's
// filesystem as a tar (-o/--output, else stdout), what it wrote included;
// to a terminal it is refused ("output option is required when exporting
// to terminal", pkg/compose/export.go).
func TestExport(t *testing.T) {
	c := newProject(t, writerProject)
	c.must("up", "-d")
	testutil.Eventually(t, 10*time.Second, "the container's file", func() bool {
		return c.run("exec", "-T", "app", "cat", "/hello").stdout == "from-container\n"
	})
	out := filepath.Join(t.TempDir(), "fs.tar")
	c.must("export", "-o", out, "app")
	files := tarFiles(t, out)
	if files["hello"] != "from-container\n" || files["bin/busybox"] == "" {
		t.Errorf("export: hello %q, bin/busybox in it: %v", files["hello"], files["bin/busybox"] != "")
	}
	if r := c.must("export", "app"); !strings.Contains(r.stdout, "from-container") {
		t.Errorf("export to stdout: %d bytes", len(r.stdout))
	}
	if r := c.run("export", "-o", "/nonexistent/dir/x.tar", "app"); r.code != 1 || !strings.Contains(r.stderr, "invalid output path") {
		t.Errorf("export -o into a missing dir: %s", r)
	}
}

// tarFiles reads a tar's regular files (name -> content).
func tarFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[strings.TrimPrefix(h.Name, "./")] = string(b)
			if out[h.Name] == "" {
				out[h.Name] = "(empty)"
			}
		}
	}
}

// TestCommit: `docker compose commit SERVICE REPO:TAG` makes an image of
// the container's changes, with -c Dockerfile instructions, -m and -a
// (cmd/compose/commit.go), and an instruction commit does not take is
// moby's "<INSTRUCTION> is not a valid change command".
func TestCommit(t *testing.T) {
	c := newProject(t, writerProject)
	c.must("up", "-d")
	testutil.Eventually(t, 10*time.Second, "the container's file", func() bool {
		return c.run("exec", "-T", "app", "cat", "/hello").stdout == "from-container\n"
	})
	r := c.must("--progress", "plain", "commit", "-c", `CMD ["cat", "/hello"]`, "-m", "a message", "-a", "me", "app", "committed:1")
	if !strings.Contains(r.stderr, "Committed as sha256:") {
		t.Errorf("commit output: %s", r)
	}
	inspect := c.must("image", "inspect", "committed:1").stdout
	for _, want := range []string{`"cat"`, `"/hello"`, `"me"`} {
		if !strings.Contains(inspect, want) {
			t.Errorf("image inspect lacks %s:\n%s", want, inspect)
		}
	}
	other := newCLI(t)
	other.root, other.env = c.root, []string{"COMPOSE_ROOT=" + c.root, "COMPOSE_PROJECT_NAME=committed" + strings.ToLower(t.Name()[:4])}
	other.dir = t.TempDir()
	os.WriteFile(filepath.Join(other.dir, "compose.yaml"), []byte("services:\n  x:\n    image: committed:1\n    pull_policy: never\n"), 0o644)
	t.Cleanup(func() { other.run("down") }) // the network `run` made
	if r := other.must("run", "--rm", "-T", "x"); r.stdout != "from-container\n" {
		t.Errorf("the committed image runs: %s", r)
	}
	if r := c.run("commit", "-c", "RUN true", "app"); r.code != 1 || !strings.Contains(r.stderr, "is not a valid change command") {
		t.Errorf("commit -c RUN: %s", r)
	}
}

// TestAttachDetachKeys: `docker compose attach` ends when the detach
// keys are typed (--detach-keys, else ctrl-p,ctrl-q), leaving the
// container running, and exits 0 as `docker attach` does.
func TestAttachDetachKeys(t *testing.T) {
	c := newProject(t, "services:\n  app:\n    image: busybox\n    command: [sh]\n    stdin_open: true\n    tty: true\n    stop_grace_period: 1s\n")
	c.must("up", "-d")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, keys := range []struct {
		flag []string
		seq  []byte
	}{{nil, []byte{16, 17}}, {[]string{"--detach-keys", "ctrl-a,x"}, []byte{1, 'x'}}} {
		cmd, master, out := c.startInPTY(ctx, append(append([]string{"attach"}, keys.flag...), "app")...)
		master.Write([]byte("echo attached-$((40+2))\r"))
		testutil.Eventually(t, 10*time.Second, "the attached shell to answer", func() bool { return strings.Contains(out.String(), "attached-42") })
		master.Write(keys.seq)
		if err := cmd.Wait(); exitCodeOf(err) != 0 {
			t.Errorf("attach %v after the detach keys: %v\n%s", keys.flag, err, out.String())
		}
		if st := c.stateOf("app"); st != "running" {
			t.Errorf("after detaching: state %q", st)
		}
	}
	if r := c.run("attach", "--detach-keys", "ctrl-1", "app"); r.code != 1 || !strings.Contains(r.stderr, "Invalid escape keys (ctrl-1) provided") {
		t.Errorf("attach --detach-keys ctrl-1: %s", r)
	}
}

// TestPullPolicyAndPushDeps: `pull --policy missing` skips what is stored,
// --ignore-buildable what can be built ("Skipped", pkg/compose/pull.go),
// a bad policy is refused; `push --include-deps` also pushes the images
// of the named services' dependencies (cmd/compose/push.go).
func TestPullPolicyAndPushDeps(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{})
	c := newProject(t, "services:\n  app:\n    image: "+reg.Ref("app:1")+"\n    build: .\n    depends_on: [dep]\n  dep:\n    image: "+reg.Ref("dep:1")+"\n    build: .\n  base:\n    image: busybox\n")
	r := c.must("--progress", "plain", "pull", "--policy", "missing", "--ignore-buildable")
	if !strings.Contains(r.stderr, "Skipped") || strings.Contains(r.stderr, "Error") {
		t.Errorf("pull --policy missing --ignore-buildable: %s", r)
	}
	if r := c.run("pull", "--policy", "sometimes"); r.code != 1 || !strings.Contains(r.stderr, `invalid --policy option "sometimes"`) {
		t.Errorf("pull --policy sometimes: %s", r)
	}
	c.must("image", "tag", "busybox", reg.Ref("app:1"))
	c.must("image", "tag", "busybox", reg.Ref("dep:1"))
	c.must("push", "app")
	if _, err := remote.Head(mustRef(t, reg.Ref("dep:1"))); err == nil {
		t.Errorf("push app pushed its dependency's image")
	}
	c.must("push", "--include-deps", "app")
	if _, err := remote.Head(mustRef(t, reg.Ref("dep:1"))); err != nil {
		t.Errorf("push --include-deps app: dep:1 is not in the registry: %v", err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestPublish: `docker compose publish` pushes the compose file as an OCI
// artifact (artifactType application/vnd.docker.compose.project, one
// application/vnd.docker.compose.file+yaml layer per file, annotated
// com.docker.compose.file); env_file paths become <sha256>.env and
// --with-env adds those files as application/vnd.docker.compose.envfile
// layers; --oci-version 1.0 uses the compose empty config instead of an
// artifact type; without -y the questions default to no, which cancels
// (exit 130) (pkg/compose/publish.go, internal/oci/push.go).
func TestPublish(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "busybox:1", img)
	c := newProject(t, "services:\n  app:\n    image: "+reg.Ref("busybox:1")+"\n    env_file: [app.env]\n")
	os.WriteFile(filepath.Join(c.dir, "app.env"), []byte("GREETING=hello\n"), 0o644)

	if r := c.run("publish", reg.Ref("stack:1")); r.code != 130 || !strings.Contains(r.stdout, "env_file declared") {
		t.Errorf("publish without -y, no answer: %s", r)
	}
	if _, err := remote.Head(mustRef(t, reg.Ref("stack:1"))); err == nil {
		t.Errorf("a declined publish pushed the artifact")
	}
	c.must("publish", "-y", "--with-env", reg.Ref("stack:1"))
	m := manifestOf(t, reg.Ref("stack:1"))
	if m.ArtifactType != "application/vnd.docker.compose.project" && m.Config.MediaType != "application/vnd.docker.compose.config.empty.v1+json" {
		t.Errorf("manifest: artifactType %q, config %q", m.ArtifactType, m.Config.MediaType)
	}
	if len(m.Layers) != 2 || m.Layers[0].MediaType != "application/vnd.docker.compose.file+yaml" || m.Layers[0].Annotations["com.docker.compose.file"] != "compose.yaml" ||
		m.Layers[1].MediaType != "application/vnd.docker.compose.envfile" || !strings.HasSuffix(m.Layers[1].Annotations["com.docker.compose.envfile"], ".env") {
		t.Errorf("layers: %+v", m.Layers)
	}
	c.must("publish", "-y", "--oci-version", "1.0", reg.Ref("stack:old"))
	if m := manifestOf(t, reg.Ref("stack:old")); m.ArtifactType != "" || m.Config.MediaType != "application/vnd.docker.compose.config.empty.v1+json" || len(m.Layers) != 1 {
		t.Errorf("--oci-version 1.0: %+v", m)
	}
	if r := c.run("publish", "-y", "--oci-version", "2.0", reg.Ref("stack:2")); r.code != 1 || !strings.Contains(r.stderr, "unsupported OCI version: 2.0") {
		t.Errorf("--oci-version 2.0: %s", r)
	}
}

type ociManifest struct {
	ArtifactType string `json:"artifactType"`
	Config       struct {
		MediaType string `json:"mediaType"`
	} `json:"config"`
	Layers []struct {
		MediaType   string            `json:"mediaType"`
		Annotations map[string]string `json:"annotations"`
	} `json:"layers"`
}

func manifestOf(t *testing.T, ref string) ociManifest {
	t.Helper()
	d, err := remote.Get(mustRef(t, ref))
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	var m ociManifest
	if err := json.Unmarshal(d.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
