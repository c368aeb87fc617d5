package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/testutil"
)

// volumeImage writes "voltest:latest": busybox plus /seed (owned 1234:5678,
// mode 0750) holding f (mode 0640), /escape, a symlink to the absolute host
// path hostDir, and a VOLUME at /anon holding g.
func volumeImage(t *testing.T, hostDir string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "seed/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1234, Gid: 5678},
		{Name: "seed/f", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1234, Gid: 5678, Size: 10},
		{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: hostDir, Mode: 0o777},
		{Name: "anon/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "anon/g", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5},
	} {
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		switch h.Name {
		case "seed/f":
			tw.Write([]byte("from image"))
		case "anon/g":
			tw.Write([]byte("anon!"))
		}
	}
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	base, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Volumes = map[string]struct{}{"/anon": {}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "voltest.tar")
	if err := tarball.WriteToFile(path, name.MustParseReference("voltest:latest"), img); err != nil {
		t.Fatal(err)
	}
	return path
}

// volumeProject makes a CLI with busybox and voltest loaded, in a fresh
// project dir with compose.yaml and a unique project name.
func volumeProject(t *testing.T, yaml string) (*cli, string) {
	t.Helper()
	c := newCLI(t)
	c.loadBusybox()
	hostDir := t.TempDir()
	c.must("image", "load", "-i", volumeImage(t, hostDir))
	c.dir = t.TempDir()
	writeCompose(t, c.dir, yaml)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	c.env = append(c.env, "COMPOSE_PROJECT_NAME=vol"+hex.EncodeToString(b))
	return c, hostDir
}

func writeCompose(t *testing.T, dir, yaml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

func volumeNames(c *cli) []string {
	c.t.Helper()
	return strings.Fields(c.must("volume", "ls", "-q").stdout)
}

const volumesStack = `
services:
  writer:
    image: voltest
    command: ["sh", "-c", "echo $$RUN >> /shared/log; stat -c 'seed %u:%g %a' /seed /seed/f; cat /seed/f; echo; ls -A /empty | wc -l; cat /anon/g; echo; sleep 1000"]
    environment: {RUN: one}
    volumes:
      - shared:/shared
      - seeded:/seed
      - type: volume
        source: empty
        target: /seed2
        volume: {nocopy: true}
      - ext:/ext
  reader:
    image: busybox
    command: ["sh", "-c", "sleep 1000"]
    volumes: ["shared:/shared:ro"]
    depends_on: [writer]
volumes:
  shared:
  seeded:
  empty:
  ext:
    external: true
    name: ${EXT_NAME}
`

func TestVolumesNamedAnonymousAndDown(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c, _ := volumeProject(t, strings.ReplaceAll(volumesStack, "/empty", "/seed2"))
	project := strings.TrimPrefix(c.env[len(c.env)-1], "COMPOSE_PROJECT_NAME=")
	ext := project + "-external"
	c.env = append(c.env, "EXT_NAME="+ext)
	t.Cleanup(func() { c.run("down", "-v", "-t", "0"); c.run("volume", "rm", "-f", ext) })

	// The external volume is missing: nothing is created.
	if r := c.run("up", "-d"); r.code == 0 || !strings.Contains(r.stderr, "external volume") {
		t.Fatalf("up without the external volume: %s", r)
	}
	if ps := c.ps(); len(ps) != 0 {
		t.Fatalf("containers created despite the error: %+v", ps)
	}
	if vols := volumeNames(c); len(vols) != 0 {
		t.Fatalf("volumes created despite the error: %v", vols)
	}
	c.must("volume", "create", ext)
	c.must("up", "-d")
	writerLogs := func(want string) {
		t.Helper()
		var out string
		testutil.Eventually(t, 20*time.Second, "writer output "+want, func() bool {
			out = c.must("logs", "--no-log-prefix", "writer").stdout
			return strings.Contains(out, want)
		})
	}
	// Copy-up keeps owner and mode; nocopy leaves the volume empty; the
	// image's VOLUME is an anonymous volume filled from the image.
	writerLogs("seed 1234:5678 750\nseed 1234:5678 640\nfrom image\n0\nanon!")
	for _, v := range []string{project + "_shared", project + "_seeded", project + "_empty", ext} {
		if !slices.Contains(volumeNames(c), v) {
			t.Fatalf("volume %s missing: %v", v, volumeNames(c))
		}
	}
	var insp []struct{ Labels map[string]string }
	if err := json.Unmarshal([]byte(c.must("volume", "inspect", project+"_shared").stdout), &insp); err != nil || len(insp) != 1 ||
		insp[0].Labels["com.docker.compose.project"] != project || insp[0].Labels["com.docker.compose.volume"] != "shared" {
		t.Fatalf("volume inspect labels: %+v, %v", insp, err)
	}
	// Shared by the second service; read-only there.
	if r := c.must("exec", "reader", "cat", "/shared/log"); r.stdout != "one\n" {
		t.Fatalf("reader sees %q", r.stdout)
	}
	if r := c.run("exec", "reader", "sh", "-c", "echo x > /shared/x"); r.code == 0 {
		t.Fatalf("write to a read-only volume succeeded: %s", r)
	}
	// In use: refused.
	if r := c.run("volume", "rm", project+"_shared"); r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("volume rm of a volume in use: %s", r)
	}
	// Anonymous volume kept when the container is recreated.
	c.must("exec", "writer", "sh", "-c", "echo kept > /anon/mark")
	writeCompose(t, c.dir, strings.ReplaceAll(strings.ReplaceAll(volumesStack, "/empty", "/seed2"), "RUN: one", "RUN: two"))
	c.must("up", "-d")
	if r := c.must("exec", "writer", "cat", "/anon/mark"); r.stdout != "kept\n" {
		t.Fatalf("anonymous volume not kept on recreate: %q", r.stdout)
	}
	// down keeps the data; up finds it.
	c.must("down", "-t", "0")
	c.must("up", "-d")
	writerLogs("seed 1234:5678 750")
	if r := c.must("exec", "reader", "cat", "/shared/log"); !strings.HasPrefix(r.stdout, "one\ntwo\n") {
		t.Fatalf("data lost across down/up: %q", r.stdout)
	}
	// down -v removes the project's volumes, never the external one.
	c.must("down", "-v", "-t", "0")
	vols := volumeNames(c)
	if len(vols) != 1 || vols[0] != ext {
		t.Fatalf("after down -v volumes = %v, want only %s", vols, ext)
	}
}

const bindStack = `
services:
  app:
    image: voltest
    command: ["sh", "-c", "ls -d /made && ( (echo x > /conf/y) 2>/dev/null || echo ro-refused) && cat /one/file.txt && stat -c 'secret %u %a' /run/secrets/token && cat /run/secrets/token && echo && cat /etc/app.conf && echo && grep ' /scratch ' /proc/mounts && sleep 1000"]
    volumes:
      - ./missing/dir:/made
      - type: bind
        source: ./conf
        target: /conf
        read_only: true
      - ./conf/file.txt:/one/file.txt:z
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 2m}
    secrets:
      - source: token
        mode: 0400
        uid: "1000"
    configs:
      - source: appconf
        target: /etc/app.conf
secrets:
  token:
    file: ./token.txt
configs:
  appconf:
    content: "port=80"
`

func TestBindTmpfsSecretsConfigs(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c, _ := volumeProject(t, bindStack)
	t.Cleanup(func() { c.run("down", "-v", "-t", "0") })
	os.MkdirAll(filepath.Join(c.dir, "conf"), 0o755)
	os.WriteFile(filepath.Join(c.dir, "conf", "file.txt"), []byte("single file"), 0o644)
	os.WriteFile(filepath.Join(c.dir, "token.txt"), []byte("s3cret"), 0o644)
	c.must("up", "-d")
	var out string
	testutil.Eventually(t, 20*time.Second, "app output", func() bool {
		out = c.must("logs", "--no-log-prefix", "app").stdout
		return strings.Contains(out, "/scratch")
	})
	for _, want := range []string{"/made\n", "ro-refused\n", "single file", "secret 1000 400\ns3cret\n", "port=80\n", "size=2048k"} {
		if !strings.Contains(out, want) {
			t.Errorf("app output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(c.dir, "missing", "dir")); err != nil || !fi.IsDir() {
		t.Errorf("missing bind source not created: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "conf", "y")); err == nil {
		t.Errorf("read-only bind was written through")
	}
}

func TestVolumeSymlinkEscape(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c, hostDir := volumeProject(t, `
services:
  app:
    image: voltest
    command: ["sh", "-c", "ls -A /escape/; sleep 1000"]
    volumes: ["./src:/escape", "data:/escape/sub"]
volumes:
  data:
`)
	t.Cleanup(func() { c.run("down", "-v", "-t", "0") })
	os.WriteFile(filepath.Join(hostDir, "host-secret"), []byte("x"), 0o600)
	os.MkdirAll(filepath.Join(c.dir, "src"), 0o755)
	os.WriteFile(filepath.Join(c.dir, "src", "marker"), []byte("m"), 0o644)
	r := c.run("up", "-d")
	if r.code == 0 {
		testutil.Eventually(t, 20*time.Second, "app output", func() bool {
			return strings.Contains(c.must("logs", "--no-log-prefix", "app").stdout, "marker")
		})
	}
	// Whether up failed or the mount landed inside the rootfs, the host dir
	// the symlink names is untouched and not mounted over.
	entries, _ := os.ReadDir(hostDir)
	if len(entries) != 1 || entries[0].Name() != "host-secret" {
		t.Fatalf("host dir behind the symlink changed: %v (up: %s)", entries, r)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), " "+hostDir+" ") {
		t.Fatalf("a mount landed on the host at %s", hostDir)
	}
}

func TestVolumeBadInput(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c, _ := volumeProject(t, "services: {}\n")
	os.WriteFile(filepath.Join(c.dir, "afile"), []byte("x"), 0o644)
	for _, tt := range []struct{ name, yaml, want string }{
		{"undefined volume", "services:\n  a:\n    image: busybox\n    volumes: [\"nosuch:/data\"]\n", "undefined volume"},
		{"external missing", "services:\n  a:\n    image: busybox\n    volumes: [\"xv:/data\"]\nvolumes:\n  xv:\n    external: true\n", "external volume"},
		{"file for a dir", "services:\n  a:\n    image: busybox\n    volumes: [\"./afile:/etc\"]\n", "is a file"},
		{"file in the path", "services:\n  a:\n    image: busybox\n    volumes: [\"./afile/sub:/data\"]\n", "is a file"},
		{"bad driver", "services:\n  a:\n    image: busybox\n    volumes: [\"xv:/data\"]\nvolumes:\n  xv:\n    driver: nfs\n", "not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			writeCompose(t, c.dir, tt.yaml)
			r := c.run("up", "-d")
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				c.run("down", "-v", "-t", "0")
				t.Fatalf("up: want an error with %q: %s", tt.want, r)
			}
			if ps := c.ps(); len(ps) != 0 {
				t.Errorf("containers created: %+v", ps)
			}
			if vols := volumeNames(c); len(vols) != 0 {
				t.Errorf("volumes created: %v", vols)
			}
		})
	}
}

func TestVolumeCommandsRunAndVolumesFrom(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	device := t.TempDir()
	c, _ := volumeProject(t, `
services:
  owner:
    image: busybox
    command: ["sleep", "1000"]
    volumes: ["hostdir:/data"]
  borrower:
    image: busybox
    command: ["sleep", "1000"]
    volumes_from: ["owner:ro"]
    depends_on: [owner]
volumes:
  hostdir:
    driver: local
    driver_opts: {type: none, o: bind, device: `+device+`}
`)
	project := strings.TrimPrefix(c.env[len(c.env)-1], "COMPOSE_PROJECT_NAME=")
	plain := project + "-plain"
	t.Cleanup(func() { c.run("down", "-v", "-t", "0"); c.run("volume", "rm", "-f", plain) })

	if r := c.must("volume", "create", "--label", "k=v", plain); strings.TrimSpace(r.stdout) != plain {
		t.Fatalf("volume create printed %q", r.stdout)
	}
	// run -v with a named volume (not declared: a plain volume of that name).
	c.must("run", "--rm", "-v", plain+":/vol", "owner", "sh", "-c", "echo ran > /vol/f")
	if r := c.must("run", "--rm", "-v", plain+":/vol:ro", "owner", "cat", "/vol/f"); r.stdout != "ran\n" {
		t.Fatalf("run -v data = %q", r.stdout)
	}
	// run --rm removes the anonymous volumes it made.
	c.must("run", "--rm", "-v", "/anon", "owner", "touch", "/anon/x")
	if vols := volumeNames(c); len(vols) != 2 || vols[0] != plain || vols[1] != project+"_hostdir" {
		t.Fatalf("after run --rm volumes = %v, want only %s and the service's", vols, plain)
	}
	// A bind volume writes into its device; volumes_from shares it read-only.
	c.must("up", "-d")
	c.must("exec", "owner", "sh", "-c", "echo via-volume > /data/x")
	if b, err := os.ReadFile(filepath.Join(device, "x")); err != nil || string(b) != "via-volume\n" {
		t.Fatalf("device content %q, %v", b, err)
	}
	if r := c.must("exec", "borrower", "cat", "/data/x"); r.stdout != "via-volume\n" {
		t.Fatalf("volumes_from sees %q", r.stdout)
	}
	if r := c.run("exec", "borrower", "touch", "/data/y"); r.code == 0 {
		t.Fatalf("volumes_from :ro allowed a write")
	}
	var insp []struct {
		Name   string
		Labels map[string]string
	}
	if err := json.Unmarshal([]byte(c.must("volume", "inspect", plain).stdout), &insp); err != nil || len(insp) != 1 || insp[0].Labels["k"] != "v" {
		t.Fatalf("inspect: %+v, %v", insp, err)
	}
	if r := c.run("volume", "inspect", project+"-nosuch"); r.code == 0 {
		t.Fatalf("inspect of a missing volume succeeded")
	}
	if r := c.run("volume", "rm", project+"_hostdir"); r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("rm in use: %s", r)
	}
	// prune -a removes only unused volumes.
	r := c.must("volume", "prune", "-a", "-f")
	if !strings.Contains(r.stdout, plain) || strings.Contains(r.stdout, project+"_hostdir") {
		t.Fatalf("prune removed: %s", r.stdout)
	}
	c.must("down", "-v", "-t", "0")
	if vols := volumeNames(c); len(vols) != 0 {
		t.Fatalf("left volumes %v", vols)
	}
	if _, err := os.Stat(filepath.Join(device, "x")); err != nil {
		t.Fatalf("down -v removed the bind device's data: %v", err)
	}
}
