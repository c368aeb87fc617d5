package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/busybox"
	"github.com/composer-dev/compose/internal/registrytest"
	"github.com/composer-dev/compose/internal/testutil"
)

// buildProject writes files (path -> content) into a fresh project dir and
// returns the dir and the -f/-p arguments for it.
func buildProject(t testing.TB, name string, files map[string]string) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"-f", filepath.Join(dir, "compose.yaml"), "-p", name}
}

// stepStatus maps each "#N [...] INSTRUCTION" line of a build's output to
// whether the step was CACHED, keyed by the instruction text.
func stepStatus(out string) map[string]bool {
	steps := map[string]string{} // #N -> instruction
	cached := map[string]bool{}
	head := regexp.MustCompile(`^#(\d+) \[[^\]]+\] (.*)$`)
	for _, line := range strings.Split(out, "\n") {
		if m := head.FindStringSubmatch(line); m != nil {
			steps[m[1]] = m[2]
			cached[m[2]] = false
			continue
		}
		if n, rest, ok := strings.Cut(line, " "); ok && rest == "CACHED" {
			cached[steps[strings.TrimPrefix(n, "#")]] = true
		}
	}
	return cached
}

// hostClean fails if the build left mounts, step directories or processes
// of the state root behind.
func hostClean(t *testing.T, c *cli) {
	t.Helper()
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), c.root) {
		t.Errorf("mounts left under %s", c.root)
	}
	ents, _ := os.ReadDir(filepath.Join(c.root, "builds"))
	if len(ents) > 0 {
		t.Errorf("step directories left: %v", ents)
	}
}

// TestBuildMultiStage: ARG before FROM, build args, ENV substitution, a
// second stage copying from the first, .dockerignore, WORKDIR and USER seen
// by the running container; `up --build` rebuilds and runs the result.
func TestBuildMultiStage(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	dir, proj := buildProject(t, "build-ms", map[string]string{
		"compose.yaml": `services:
  web:
    build:
      context: .
      args:
        MSG: hello-arg
      labels:
        com.example.built: "yes"
`,
		".dockerignore": "**/*.log\nsecret/\n",
		"src/a.txt":     "a\n",
		"src/skip.log":  "ignored\n",
		"secret/key":    "nope\n",
		"Dockerfile": `ARG BASE=busybox
FROM ${BASE} AS builder
ARG MSG=default
ENV GREETING=$MSG
RUN echo "$GREETING from builder" > /out.txt
COPY src/ /src/
COPY . /ctx/

FROM busybox
WORKDIR /app
COPY --from=builder /out.txt ./
COPY --from=builder /src /src
COPY --from=builder /ctx /ctx
RUN echo 'bob:x:1234:1234::/app:/bin/sh' >> /etc/passwd && mkdir -p /data && chown 1234 /data
COPY --chown=bob:1234 --chmod=0640 src/a.txt /data/a.txt
USER bob
EXPOSE 8080
CMD ["sh", "-c", "cat /app/out.txt; id -u; pwd; ls /src /ctx; stat -c '%u:%g %a' /data/a.txt"]
`,
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	// The build's steps go to stdout, as BuildKit's display does in Docker
	// Compose (build_bake.go: progressui.NewDisplay(s.stdout())).
	r := c.must(append(proj, "build")...)
	if !strings.Contains(r.stdout, "#1 [web builder 1/4] FROM docker.io/library/busybox:latest") {
		t.Errorf("build output lacks the step lines:\n%s", r)
	}
	out := c.must(append(proj, "run", "--rm", "web")...).stdout
	for _, want := range []string{"hello-arg from builder", "1234\n", "/app\n", "a.txt", "1234:1234 640"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"skip.log", "secret", "key"} {
		if strings.Contains(out, bad) {
			t.Errorf(".dockerignore'd %q was copied:\n%s", bad, out)
		}
	}
	insp := c.must("image", "inspect", "build-ms-web").stdout
	for _, want := range []string{`"com.example.built": "yes"`, `"com.docker.compose.service": "web"`, `"8080/tcp"`, `"User": "bob"`, `"WorkingDir": "/app"`} {
		if !strings.Contains(insp, want) {
			t.Errorf("image inspect lacks %s:\n%s", want, insp)
		}
	}

	// up --build picks up a changed Dockerfile and runs the new image.
	df := filepath.Join(dir, "Dockerfile")
	b, _ := os.ReadFile(df)
	v2 := strings.Replace(string(b), `CMD ["sh"`, "RUN echo v2 > /data/version\nCMD [\"sh\"", 1)
	v2 = strings.Replace(v2, "cat /app/out.txt;", "cat /data/version /app/out.txt;", 1)
	if err := os.WriteFile(df, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must(append(proj, "up", "--build", "-d")...)
	testutil.Eventually(t, 20*time.Second, "the rebuilt container's output", func() bool {
		return strings.Contains(c.run(append(proj, "logs", "web")...).stdout, "v2")
	})
	c.must(append(proj, "down", "-t", "0")...)
	hostClean(t, c)
}

// TestBuildCache: a second build takes every step from the cache and makes
// the same image; changing one copied file rebuilds that step and the later
// ones only; --no-cache rebuilds everything.
func TestBuildCache(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	dir, proj := buildProject(t, "build-cache", map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n    image: cache-test:1\n",
		"one.txt":      "one\n",
		"two.txt":      "two\n",
		"Dockerfile": `FROM busybox
RUN echo first > /first
COPY one.txt /one.txt
RUN cat /one.txt > /copy-of-one
COPY two.txt /two.txt
RUN cat /two.txt > /copy-of-two
`,
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	steps := []string{"RUN echo first > /first", "COPY one.txt /one.txt", "RUN cat /one.txt > /copy-of-one", "COPY two.txt /two.txt", "RUN cat /two.txt > /copy-of-two"}

	first := stepStatus(c.must(append(proj, "build")...).stdout)
	for _, s := range steps {
		if cached, ok := first[s]; !ok || cached {
			t.Fatalf("first build: step %q cached=%v present=%v", s, cached, ok)
		}
	}
	id1 := c.must("image", "ls", "-q").stdout
	second := stepStatus(c.must(append(proj, "build")...).stdout)
	for _, s := range steps {
		if !second[s] {
			t.Errorf("second build: step %q not CACHED", s)
		}
	}
	if id2 := c.must("image", "ls", "-q").stdout; id2 != id1 {
		t.Errorf("a fully cached build made a new image: %q then %q", id1, id2)
	}

	os.WriteFile(filepath.Join(dir, "two.txt"), []byte("TWO\n"), 0o644)
	third := stepStatus(c.must(append(proj, "build")...).stdout)
	for i, s := range steps {
		if want := i < 3; third[s] != want {
			t.Errorf("after changing two.txt: step %q cached=%v, want %v", s, third[s], want)
		}
	}
	if out := c.must(append(proj, "run", "--rm", "app", "cat", "/copy-of-two")...).stdout; out != "TWO\n" {
		t.Errorf("rebuilt image has %q", out)
	}

	// Touching a file without changing it keeps the cache (content, not mtime).
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "one.txt"), later, later)
	if s := stepStatus(c.must(append(proj, "build")...).stdout); !s["COPY one.txt /one.txt"] {
		t.Errorf("an unchanged file with a new mtime missed the cache")
	}

	nocache := stepStatus(c.must(append(proj, "build", "--no-cache")...).stdout)
	for _, s := range steps {
		if nocache[s] {
			t.Errorf("--no-cache: step %q was CACHED", s)
		}
	}
	hostClean(t, c)
}

// TestBuildFailingRun: a RUN that exits 3 fails the build with the step,
// its command and exit code, after its output; nothing is tagged and no
// container, mount or step directory is left.
func TestBuildFailingRun(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	_, proj := buildProject(t, "build-fail", map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n",
		"Dockerfile":   "FROM busybox\nRUN echo before-failure\nRUN echo about-to-fail && exit 3\nRUN echo never\n",
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	r := c.run(append(proj, "build")...)
	if r.code == 0 {
		t.Fatalf("build of a failing RUN succeeded: %s", r)
	}
	// The step's output is build output (stdout); the error names the step
	// and the exit code on stderr, as Docker Compose's "failed to solve".
	if !strings.Contains(r.stdout, "about-to-fail") || !strings.Contains(r.stderr, `RUN echo about-to-fail && exit 3`) || !strings.Contains(r.stderr, "exit code: 3") {
		t.Errorf("failure output lacks the step, its output or the exit code:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "never") {
		t.Errorf("a step after the failure ran:\n%s", r)
	}
	if ls := c.must("image", "ls").stdout; strings.Contains(ls, "build-fail") {
		t.Errorf("a failed build tagged an image:\n%s", ls)
	}
	hostClean(t, c)

	// up builds a missing image (and fails the same way, creating nothing).
	if r := c.run(append(proj, "up", "-d")...); r.code == 0 || !strings.Contains(r.stderr, "exit code: 3") {
		t.Errorf("up with a failing build: %s", r)
	}
	if n := len(c.ps(proj...)); n != 0 {
		t.Errorf("up created %d containers after a failed build", n)
	}
}

// TestBuildContextSafety: a source symlink leading out of the context, a
// missing source and a git context are one-line errors naming what is at
// fault.
func TestBuildContextSafety(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	dir, proj := buildProject(t, "build-safe", map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n",
		"Dockerfile":   "FROM busybox\nCOPY escape /x\n",
	})
	if err := os.Symlink("/etc", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	r := c.run(append(proj, "build")...)
	if r.code == 0 || !strings.Contains(r.stderr, "outside the build context") || !strings.Contains(r.stderr, "COPY escape /x") {
		t.Errorf("symlink out of the context: %s", r)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nCOPY missing.txt /x\n"), 0o644)
	r = c.run(append(proj, "build")...)
	if r.code == 0 || !strings.Contains(r.stderr, `"missing.txt" not found`) {
		t.Errorf("missing source: %s", r)
	}
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  app:\n    build: https://github.com/example/app.git#main\n"), 0o644)
	r = c.run(append(proj, "build")...)
	if r.code == 0 || !strings.Contains(r.stderr, `service "app": build context "https://github.com/example/app.git#main": git and URL contexts are not supported`) {
		t.Errorf("git context: %s", r)
	}
	hostClean(t, c)
}

// BenchmarkBuildCached: `compose build` of a 10-step Dockerfile whose steps
// are all cached (target < 0.2 s), and with one copied file changed (the
// COPY of it and the two steps after it rebuilt).
func BenchmarkBuildCached(b *testing.B) {
	testutil.RequiresRoot(b)
	root := b.TempDir()
	files := map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n",
		"a.txt":        "a\n", "b.txt": "b\n", "c.txt": "c\n",
		"Dockerfile": `FROM busybox
ENV A=1
WORKDIR /app
RUN echo one > one
COPY a.txt .
RUN echo two > two
COPY b.txt .
RUN echo three > three
COPY c.txt .
RUN cat c.txt > c.copy
LABEL done=yes
`,
	}
	dir, _ := buildProject(b, "bench", files)
	must := func(args ...string) {
		if out, err := composeCmd(root, dir, args...).CombinedOutput(); err != nil {
			b.Fatalf("compose %v: %v\n%s", args, err, out)
		}
	}
	must("image", "load", "-i", busyboxImage)
	must("build")
	b.Run("all-cached", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			must("build", "-q")
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/build")
	})
	b.Run("one-file-changed", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			os.WriteFile(filepath.Join(dir, "c.txt"), []byte("c "+strconv.Itoa(i)+" "+time.Now().String()+"\n"), 0o644)
			start := time.Now()
			must("build", "-q")
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/build")
	})
}

// TestBuildRunMounts: RUN --mount of a cache directory (kept across
// builds), a build secret (readable in the step, absent from the image), a
// context file and a file of an earlier stage; --network=none.
func TestBuildRunMounts(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	dir, proj := buildProject(t, "build-mounts", map[string]string{
		"compose.yaml": `services:
  m:
    build:
      context: .
      secrets: [tok]
      extra_hosts: ["myhost=10.1.2.3"]
      shm_size: 96m
secrets:
  tok:
    file: ./token.txt
`,
		"token.txt": "s3cret\n",
		"bound.txt": "from-context\n",
		"Dockerfile": `FROM busybox AS src
RUN echo from-stage > /stagefile
FROM busybox
ARG N=1
RUN --mount=type=cache,target=/cache echo $N >> /cache/runs && wc -l < /cache/runs > /runs
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /secret-copy
RUN --mount=type=bind,source=bound.txt,target=/b,rw cat /b > /bound-copy && echo overwritten > /b
RUN --mount=type=bind,from=src,source=/stagefile,target=/s cat /s > /stage-copy
RUN --network=none cat /proc/net/dev | tail -n +3 | wc -l > /nics
RUN grep myhost /etc/hosts > /hosts-line && df -k /dev/shm | tail -n 1 | awk '{print $2}' > /shm
CMD cat /runs /secret-copy /bound-copy /stage-copy /nics /hosts-line /shm; ls /run/secrets 2>&1; true
`,
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	c.must(append(proj, "build")...)
	c.must(append(proj, "build", "--build-arg", "N=2")...) // the cache mount keeps the first run's line
	out := c.must(append(proj, "run", "--rm", "m")...).stdout
	want := "2\ns3cret\nfrom-context\nfrom-stage\n1\n10.1.2.3\tmyhost\n98304\nls: /run/secrets: No such file or directory\n"
	if out != want {
		t.Errorf("container output:\n%s\nwant:\n%s", out, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "bound.txt")); string(b) != "from-context\n" {
		t.Errorf("a rw bind mount wrote to the context: %q", b)
	}
	c.must(append(proj, "down", "-t", "0")...)
	hostClean(t, c)
}

// TestUpBuildsMissingImage: `up` builds the image of a service with only a
// `build:` (named <project>-<service>), `--no-build` refuses to, and
// `pull_policy: build` rebuilds on every up.
func TestUpBuildsMissingImage(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	dir, proj := buildProject(t, "build-up", map[string]string{
		"compose.yaml":   "services:\n  app:\n    build:\n      context: .\n      dockerfile: app.Dockerfile\n    command: [sleep, \"60\"]\n",
		"app.Dockerfile": "FROM busybox\nRUN echo built > /marker\n",
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	if r := c.run(append(proj, "up", "-d", "--no-build")...); r.code == 0 {
		t.Fatalf("up --no-build with no image succeeded: %s", r)
	}
	r := c.must(append(proj, "up", "-d")...)
	if !strings.Contains(r.stdout, "RUN echo built > /marker") {
		t.Errorf("up did not build the missing image:\n%s", r)
	}
	if ls := c.must("image", "ls").stdout; !strings.Contains(ls, "build-up-app") {
		t.Errorf("image not named <project>-<service>:\n%s", ls)
	}
	if out := c.must(append(proj, "exec", "-T", "app", "cat", "/marker")...).stdout; out != "built\n" {
		t.Errorf("marker = %q", out)
	}
	r = c.must(append(proj, "up", "-d")...)
	if strings.Contains(r.stdout+r.stderr, "RUN echo") {
		t.Errorf("up rebuilt an image that exists:\n%s", r)
	}
	os.WriteFile(filepath.Join(dir, "app.Dockerfile"), []byte("FROM busybox\nRUN echo built2 > /marker\n"), 0o644)
	if out := c.must(append(proj, "run", "--rm", "app", "cat", "/marker")...).stdout; out != "built\n" {
		t.Errorf("run without --build rebuilt: %q", out)
	}
	// The build's output comes first on stdout, as with Docker Compose (its
	// BuildKit display writes to stdout for `run` too).
	if out := c.must(append(proj, "run", "--rm", "--build", "app", "cat", "/marker")...).stdout; !strings.HasSuffix(out, "done\nbuilt2\n") {
		t.Errorf("run --build did not rebuild: %q", out)
	}
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  app:\n    build:\n      context: .\n      dockerfile: app.Dockerfile\n    pull_policy: build\n    command: [sleep, \"60\"]\n"), 0o644)
	r = c.must(append(proj, "up", "-d")...)
	if s := stepStatus(r.stdout); !s["RUN echo built2 > /marker"] {
		t.Errorf("pull_policy build: no (cached) build step in:\n%s", r)
	}
}

// TestBuildAddURLContextsOnbuild: ADD of a URL (a server on loopback),
// additional_contexts (a directory, docker-image:// and service:, which
// builds that service first) and the ONBUILD triggers of a base image.
func TestBuildAddURLContextsOnbuild(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		io.WriteString(w, "served "+r.URL.Path+"\n")
	}))
	t.Cleanup(srv.Close)
	_, proj := buildProject(t, "build-extra", map[string]string{
		"compose.yaml": `services:
  base:
    build:
      context: .
      dockerfile: base.Dockerfile
    image: onbuild-base:1
  app:
    build:
      context: .
      additional_contexts:
        extra: ./extra
        img: docker-image://busybox:latest
        base: service:base
`,
		"base.Dockerfile": "FROM busybox\nONBUILD COPY trigger.txt /trigger.txt\nONBUILD RUN echo onbuild-ran > /onbuild\n",
		"trigger.txt":     "copied by a trigger\n",
		"extra/e.txt":     "from the extra context\n",
		"Dockerfile": `FROM base
ADD ` + srv.URL + `/files/hello.txt /web/
COPY --from=extra e.txt /e.txt
COPY --from=img /bin/busybox /img-busybox
CMD cat /web/hello.txt /trigger.txt /onbuild /e.txt; stat -c '%a' /web/hello.txt; test -x /img-busybox && echo img-ok
`,
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	c.must(append(proj, "build")...) // base first: app's Dockerfile starts FROM it
	out := c.must(append(proj, "run", "--rm", "--no-deps", "app")...).stdout
	want := "served /files/hello.txt\ncopied by a trigger\nonbuild-ran\nfrom the extra context\n600\nimg-ok\n"
	if out != want {
		t.Errorf("container output:\n%s\nwant:\n%s", out, want)
	}
	if insp := c.must("image", "inspect", "build-extra-app").stdout; !strings.Contains(insp, `"OnBuild": null`) {
		t.Errorf("ONBUILD triggers passed on to the child image:\n%s", insp)
	}
	hostClean(t, c)
}

// TestBuildPullsBase: a base image that is not stored is pulled (from a
// registry on loopback); --pull fetches a newer one even when stored.
func TestBuildPullsBase(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("base/busybox:1")
	reg.Push(t, "base/busybox:1", img)
	c := newCLI(t)
	_, proj := buildProject(t, "build-pull", map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n",
		"Dockerfile":   "FROM " + ref + "\nCMD cat /version\n",
	})
	c.must(append(proj, "build")...)
	if ls := c.must("image", "ls").stdout; !strings.Contains(ls, "base/busybox") || !strings.Contains(ls, "build-pull-app") {
		t.Fatalf("base not pulled or image not built:\n%s", ls)
	}
	v2, err := registrytest.Derive(img, map[string]string{"version": "v2\n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "base/busybox:1", v2)
	c.must(append(proj, "build", "--pull")...)
	if out := c.must(append(proj, "run", "--rm", "app")...).stdout; out != "v2\n" {
		t.Errorf("--pull did not use the newer base: %q", out)
	}
	c.must(append(proj, "down", "-t", "0")...)

	// build --push sends the built image to where its image: name says.
	pushed := reg.Ref("pushed/app:1")
	_, proj = buildProject(t, "build-push", map[string]string{
		"compose.yaml": "services:\n  app:\n    image: " + pushed + "\n    build: .\n",
		"Dockerfile":   "FROM " + ref + "\nRUN echo pushed > /marker\n",
	})
	manifest := func() int {
		req, _ := http.NewRequest(http.MethodHead, "http://"+reg.Addr+"/v2/pushed/app/manifests/1", nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c.must(append(proj, "build")...)
	if code := manifest(); code != http.StatusNotFound {
		t.Fatalf("build without --push: registry answers %d for the image", code)
	}
	c.must(append(proj, "build", "--push")...)
	if code := manifest(); code != http.StatusOK {
		t.Errorf("build --push: registry answers %d for the image", code)
	}
}

// TestBuildKilledIsSwept: a build killed (SIGKILL) in the middle of a RUN
// leaves a container and mounts; the next build kills and removes them.
func TestBuildKilledIsSwept(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	// A duration of its own, so another run of this test on the host
	// (another checkout's) is not mistaken for this one's.
	sleepFor := strconv.Itoa(3000 + int(time.Now().UnixNano()%1000000))
	c := newCLI(t)
	c.loadBusybox()
	dir, proj := buildProject(t, "build-killed", map[string]string{
		"compose.yaml": "services:\n  app:\n    build: .\n",
		"Dockerfile":   "FROM busybox\nRUN echo started && sleep " + sleepFor + "\n",
	})
	cmd := c.command(t.Context(), append(proj, "build")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasSuffix(sc.Text(), " started") {
	}
	// The shell prints "started" a moment before it runs the sleep.
	sleeping := func() bool { return sleepRuns(sleepFor) }
	testutil.Eventually(t, 10*time.Second, "the RUN's sleep to run", sleeping)
	cmd.Process.Kill()
	cmd.Wait()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN true\n"), 0o644)
	c.must(append(proj, "build")...)
	testutil.Eventually(t, 10*time.Second, "the killed build's RUN to be gone", func() bool { return !sleeping() })
	hostClean(t, c)
}

// sleepRuns reports whether a "sleep SECONDS" runs on the host.
func sleepRuns(seconds string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && string(b) == "sleep\x00"+seconds+"\x00" {
			return true
		}
	}
	return false
}

// TestBuildExample: examples/build comes up with --build and serves the
// page its first stage rendered, through its published port.
func TestBuildExample(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	proj := []string{"-f", filepath.Join(repoRoot, "examples", "build", "compose.yaml"), "-p", "build-example"}
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	c.must(append(proj, "up", "--build", "-d")...)
	addr := strings.TrimSpace(c.must(append(proj, "port", "web", "8080")...).stdout)
	var body string
	testutil.Eventually(t, 20*time.Second, "the built web server to answer on "+addr, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	if body != "<p>hello from a built image</p>\n" {
		t.Errorf("page = %q", body)
	}
}

// instructionsDockerfile exercises what the other build tests do not:
// parser directives, scratch, FROM --platform, SHELL, COPY --exclude and
// --link, heredocs (RUN and COPY), the escape character, VOLUME, EXPOSE,
// STOPSIGNAL, HEALTHCHECK, ENTRYPOINT and a target stage.
const instructionsDockerfile = "# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\n" + `FROM scratch AS empty
COPY sub/keep.txt /k

FROM --platform=$BUILDPLATFORM busybox AS base
ARG TARGETPLATFORM
RUN echo "$TARGETPLATFORM" > /tp
SHELL ["/bin/sh", "-c"]
COPY --exclude=*.log --link sub/ /sub/
COPY --from=empty /k /from-scratch
RUN <<EOT
echo heredoc-one > /h1
echo heredoc-two >> /h1
EOT
COPY <<EOT /h2
inline file
EOT
RUN echo a ` + "`" + `
    b > /escaped
VOLUME /data
EXPOSE 8080/tcp
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD test -f /h1
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /h1 /h2 /escaped /from-scratch /tp; ls /sub"]

FROM base AS unused
RUN exit 9
`

// TestBuildInstructions: each instruction's effect is visible in the built
// image's metadata or when it runs; a stage the target does not need is
// not built; dockerfile_inline builds.
func TestBuildInstructions(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	_, proj := buildProject(t, "build-instr", map[string]string{
		"compose.yaml": `services:
  app:
    build:
      context: .
      target: base
      tags: [build-instr-extra:v1]
  svc:
    image: build-instr-app
    pull_policy: never
    command: ["trap 'exit 0' TERM; sleep 600 & wait"]
    profiles: [run]
  inline:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox
        RUN echo inline > /i
        CMD cat /i
`,
		"Dockerfile":   instructionsDockerfile,
		"sub/keep.txt": "keep\n",
		"sub/drop.log": "drop\n",
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	out := c.must(append(proj, "--progress", "plain", "build")...).stdout
	if !strings.Contains(out, "# syntax=docker/dockerfile:1 ignored") {
		t.Errorf("no note that # syntax= is ignored:\n%s", out)
	}
	if strings.Contains(out, "exit 9") {
		t.Errorf("a stage the target does not need was built:\n%s", out)
	}
	want := "heredoc-one\nheredoc-two\ninline file\na b\nkeep\nlinux/" + runtime.GOARCH + "\nkeep.txt\n"
	if got := c.must(append(proj, "run", "--rm", "-T", "app")...).stdout; got != want {
		t.Errorf("run output %q, want %q (heredocs, escape, scratch stage, --exclude)", got, want)
	}
	c.must("image", "inspect", "build-instr-extra:v1") // build.tags
	if got := c.must(append(proj, "run", "--rm", "-T", "inline")...).stdout; got != "inline\n" {
		t.Errorf("dockerfile_inline image printed %q", got)
	}
	var insp []struct {
		Config struct {
			ExposedPorts map[string]struct{}
			Volumes      map[string]struct{}
			StopSignal   string
			Entrypoint   []string
			Shell        []string
			Healthcheck  struct{ Test []string }
		}
	}
	if err := json.Unmarshal([]byte(c.must("image", "inspect", "build-instr-app").stdout), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("image inspect: %v", err)
	}
	cfg := insp[0].Config
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("EXPOSE: %v", cfg.ExposedPorts)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("VOLUME: %v", cfg.Volumes)
	}
	if cfg.StopSignal != "SIGUSR1" {
		t.Errorf("STOPSIGNAL: %q", cfg.StopSignal)
	}
	if strings.Join(cfg.Entrypoint, " ") != "/bin/sh -c" || strings.Join(cfg.Shell, " ") != "/bin/sh -c" {
		t.Errorf("ENTRYPOINT %v, SHELL %v", cfg.Entrypoint, cfg.Shell)
	}
	if strings.Join(cfg.Healthcheck.Test, " ") != "CMD-SHELL test -f /h1" {
		t.Errorf("HEALTHCHECK: %v", cfg.Healthcheck.Test)
	}
	// The image's HEALTHCHECK runs: the service becomes healthy.
	c.must(append(proj, "up", "-d", "--wait", "--wait-timeout", "30", "svc")...)
	if ps := c.must(append(proj, "ps", "--format", "{{.Health}}", "svc")...).stdout; strings.TrimSpace(ps) != "healthy" {
		t.Errorf("health after up --wait: %q", ps)
	}
}

// TestBuildSharedImage: a service naming the image another service builds
// uses the built image instead of pulling it; the predefined proxy build
// args reach RUN without an ARG line, and are not kept in the image.
func TestBuildSharedImage(t *testing.T) {
	t.Parallel()
	testutil.RequiresRoot(t)
	c := newCLI(t)
	c.loadBusybox()
	_, proj := buildProject(t, "build-shared", map[string]string{
		"compose.yaml": `services:
  worker:
    image: build-shared-img:1
    command: ["sh", "-c", "cat /proxy; echo env=$$HTTP_PROXY"]
  web:
    image: build-shared-img:1
    build:
      context: .
      args:
        HTTP_PROXY: http://proxy.test:3128
`,
		"Dockerfile": "FROM busybox\nRUN echo \"$HTTP_PROXY\" > /proxy\n",
	})
	t.Cleanup(func() { c.run(append(proj, "down", "-t", "0")...) })
	out := c.must(append(proj, "--ansi", "never", "up", "--attach", "worker")...).stdout
	if !strings.Contains(out, "worker-1  | http://proxy.test:3128\n") || !strings.Contains(out, "worker-1  | env=\n") {
		t.Errorf("worker did not run the image web built, with the proxy arg used at build time only:\n%s", out)
	}
}
