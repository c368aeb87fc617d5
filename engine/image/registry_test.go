package image

import (
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/composer-dev/compose/errdefs"
)

func runtimeArch() string { return runtime.GOARCH }

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestNormalizePullForms(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, full string }{
		{"redis", "docker.io/library/redis:latest"},
		{"redis:7", "docker.io/library/redis:7"},
		{"library/redis", "docker.io/library/redis:latest"},
		{"index.docker.io/library/redis:7", "docker.io/library/redis:7"},
		{"docker.io/redis", "docker.io/library/redis:latest"},
		{"host:5000/ns/app:tag", "host:5000/ns/app:tag"},
		{"localhost/app", "localhost/app:latest"},
		{"redis@sha256:" + sixtyFour, "docker.io/library/redis@sha256:" + sixtyFour},
		{"redis:7@sha256:" + sixtyFour, "docker.io/library/redis@sha256:" + sixtyFour},
		{"host:5000/ns/app:tag@sha256:" + sixtyFour, "host:5000/ns/app@sha256:" + sixtyFour},
	}
	for _, tt := range tests {
		if got, err := Normalize(tt.in); err != nil || got != tt.full {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.full)
		}
	}
}

func TestInsecureRegistries(t *testing.T) {
	t.Parallel()
	opts := RegistryOptions{Insecure: []string{"myreg:5000", "10.1.2.3"}}
	tests := []struct {
		registry string
		insecure bool
	}{
		{"localhost", true},
		{"localhost:5000", true},
		{"127.0.0.1:5000", true},
		{"127.1.2.3:80", true},
		{"[::1]:5000", true},
		{"myreg:5000", true},
		{"myreg:5001", false},
		{"10.1.2.3", true},
		{"10.1.2.3:5000", false},
		{"192.168.1.10:5000", false}, // go-containerregistry would allow HTTP; Docker does not
		{"index.docker.io", false},
		{"ghcr.io", false},
		{"localhost.example.com", false},
	}
	for _, tt := range tests {
		if got := opts.insecure(tt.registry); got != tt.insecure {
			t.Errorf("insecure(%q) = %v, want %v", tt.registry, got, tt.insecure)
		}
	}
}

func TestTransportRefusesPlainHTTP(t *testing.T) {
	t.Parallel()
	// No request leaves the host: the guard answers before dialling.
	for _, registry := range []string{"192.168.1.10:5000", "10.0.0.1"} {
		rt := RegistryOptions{}.transport(registry)
		req, err := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "needs HTTPS") {
			t.Errorf("plain HTTP to %s: %v, want refused", registry, err)
		}
	}
	ref, err := RegistryOptions{}.reference("127.0.0.2:5000/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if s := ref.Context().Registry.Scheme(); s != "http" {
		t.Errorf("127.0.0.2 scheme %q, want http allowed", s)
	}
}

func TestPlatformMatches(t *testing.T) {
	t.Parallel()
	p := func(s string) v1.Platform {
		pp, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return *pp
	}
	tests := []struct {
		want, have string
		ok         bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/amd64", "linux/arm64", false},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/arm", "linux/arm/v7", true},
		{"linux/arm/v7", "linux/arm/v6", false},
		{"linux/arm/v7", "linux/arm/v7", true},
		{"linux/amd64", "windows/amd64", false},
		{"linux/x86_64", "linux/amd64", true},
		{"linux/amd64", "unknown/unknown", false},
	}
	for _, tt := range tests {
		if got := platformMatches(p(tt.want), p(tt.have)); got != tt.ok {
			t.Errorf("platformMatches(%s, %s) = %v, want %v", tt.want, tt.have, got, tt.ok)
		}
	}
	for _, bad := range []string{"linux", "/amd64", ""} {
		_, explicit, err := pullPlatform(bad)
		if bad == "" {
			if err != nil || explicit {
				t.Errorf("pullPlatform(\"\") = %v, %v; want host", explicit, err)
			}
			continue
		}
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("pullPlatform(%q): %v, want invalid argument", bad, err)
		}
	}
}

func TestRegistryErrorMessages(t *testing.T) {
	t.Parallel()
	terr := func(status int, code transport.ErrorCode, msg string) error {
		return &transport.Error{StatusCode: status, Errors: []transport.Diagnostic{{Code: code, Message: msg}}}
	}
	tests := []struct {
		verb, ref string
		err       error
		class     error
		want      string
	}{
		{"pull", "localhost:5000/app:1", terr(404, transport.ManifestUnknownErrorCode, "manifest unknown"), errdefs.ErrNotFound,
			"manifest for localhost:5000/app:1 not found: manifest unknown: manifest unknown"},
		{"pull", "me/app:1", terr(404, transport.NameUnknownErrorCode, "repository name not known to registry"), errdefs.ErrNotFound,
			"repository me/app not found: name unknown: repository name not known to registry"},
		{"pull", "me/app:1", terr(401, transport.UnauthorizedErrorCode, "authentication required"), errdefs.ErrNotFound,
			"pull access denied for me/app, repository does not exist or may require authorization: unauthorized: authentication required"},
		{"pull", "me/app@sha256:" + sixtyFour, terr(403, transport.DeniedErrorCode, "requested access to the resource is denied"), errdefs.ErrNotFound,
			"pull access denied for me/app, repository does not exist or may require authorization: denied: requested access to the resource is denied"},
		{"push", "me/app:1", terr(401, transport.UnauthorizedErrorCode, "authentication required"), errdefs.ErrFailedPrecondition,
			"push access denied for me/app, authorization may be required: unauthorized: authentication required"},
		{"pull", "r:5000/app:1", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, errdefs.ErrFailedPrecondition,
			"pull r:5000/app:1: cannot reach registry r:5000: dial tcp: connect: connection refused"},
	}
	for _, tt := range tests {
		reg := "r:5000"
		if r, err := name.ParseReference(tt.ref); err == nil {
			reg = r.Context().RegistryStr()
		}
		err := registryError(t.Context(), tt.verb, tt.ref, reg, tt.err)
		if !errors.Is(err, tt.class) || errdefs.Message(err) != tt.want && err.Error() != tt.want+": "+tt.class.Error() {
			t.Errorf("registryError(%v) = %q (class %v), want %q", tt.err, err, tt.class, tt.want)
		}
	}
}
