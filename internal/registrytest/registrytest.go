// Package registrytest runs a real registry (Debian's docker-registry, the
// CNCF distribution server) on 127.0.0.1 for tests, with helpers to push
// test images into it, to put a counting or tampering proxy in front of it,
// and to write a Docker config with its credentials.
package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Binary is the registry server the tests run (Debian package docker-registry).
const Binary = "/usr/bin/docker-registry"

// Options configure a test registry.
type Options struct {
	// Auth turns on htpasswd basic auth with a generated user and password.
	Auth bool
}

// Registry is a running test registry.
type Registry struct {
	Addr     string // "127.0.0.1:port"
	User     string // set when Options.Auth
	Password string
}

// Start runs a registry with filesystem storage in a temporary directory and
// waits until it answers. It is stopped when the test ends. Without the
// registry binary the test is skipped, except in CI (CI=true), where it fails.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("registry tests need %s (Debian package docker-registry): %v", Binary, err)
		}
		t.Skipf("needs %s (Debian package docker-registry)", Binary)
	}
	dir := t.TempDir()
	r := &Registry{}
	var htpasswd string
	if opts.Auth {
		r.User, r.Password = "tester", randomPassword(t)
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd = filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A free port can be taken by someone else before the registry binds
	// it; try a few.
	var lastErr error
	for range 5 {
		addr := freeAddr(t)
		err := r.run(t, dir, addr, htpasswd)
		if err == nil {
			r.Addr = addr
			return r
		}
		lastErr = err
	}
	t.Fatalf("starting %s: %v", Binary, lastErr)
	return nil
}

func (r *Registry) run(t testing.TB, dir, addr, htpasswd string) error {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	if htpasswd != "" {
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test-realm\n    path: %s\n", htpasswd)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	var logs bytes.Buffer
	cmd := exec.Command(Binary, "serve", cfgPath)
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	if err := waitReady(addr, exited); err != nil {
		stop()
		return fmt.Errorf("%w; output:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() && logs.Len() > 0 {
			t.Logf("registry %s output:\n%s", addr, logs.String())
		}
	})
	return nil
}

// waitReady polls /v2/ until the registry answers (200, or 401 with auth).
func waitReady(addr string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("registry exited: %v", err)
		case <-ctx.Done():
			return errors.New("registry did not answer on /v2/ within 20s")
		case <-tick.C:
		}
	}
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// Ref returns the full reference of repoTag ("app:1") in this registry.
func (r *Registry) Ref(repoTag string) string { return r.Addr + "/" + repoTag }
