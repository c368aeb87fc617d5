package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/composer-dev/compose/errdefs"
)

// RegistryOptions say how to reach registries.
type RegistryOptions struct {
	// Insecure lists registries (host[:port]) that may use plain HTTP or
	// TLS without certificate verification. localhost, 127.0.0.0/8 and ::1
	// always may, as with Docker.
	Insecure []string
	// Keychain finds credentials; nil means the Docker client config
	// (~/.docker/config.json or $DOCKER_CONFIG/config.json: auths,
	// credsStore and credHelpers).
	Keychain authn.Keychain
}

// layerJobs is how many layers are transferred at once, as in Docker.
const layerJobs = 3

const userAgent = "compose"

// insecure reports whether registry (host[:port]) may speak plain HTTP.
func (o RegistryOptions) insecure(registry string) bool {
	if slices.Contains(o.Insecure, registry) {
		return true
	}
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// reference parses a normalized reference for the registry protocol.
func (o RegistryOptions) reference(full string) (name.Reference, error) {
	ref, err := name.ParseReference(full)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", full, errdefs.ErrInvalidArgument)
	}
	if !o.insecure(ref.Context().RegistryStr()) {
		return ref, nil
	}
	return name.ParseReference(full, name.Insecure)
}

// remoteOptions are the go-containerregistry options for one registry.
func (o RegistryOptions) remoteOptions(ctx context.Context, registry string) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(o.transport(registry)),
		remote.WithUserAgent(userAgent),
		remote.WithJobs(layerJobs),
	}
}

// transport skips certificate checks only for insecure registries and
// refuses plain HTTP to the others: go-containerregistry would otherwise
// fall back to HTTP for private (RFC 1918) addresses, which Docker does not.
func (o RegistryOptions) transport(registry string) http.RoundTripper {
	base := remote.DefaultTransport.(*http.Transport).Clone()
	insecure := o.insecure(registry)
	if insecure {
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.URL.Scheme == "http" && !insecure && req.URL.Host == registry {
			return nil, fmt.Errorf("registry %s needs HTTPS (list it as insecure to allow HTTP)", registry)
		}
		return base.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// registryError turns a registry failure into a message that names the
// image or registry at fault, in Docker's words, with an errdefs class.
// verb is "pull" or "push"; ref is the familiar reference.
func registryError(ctx context.Context, verb, ref, registry string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	repo := familiarRepo(ref)
	var terr *transport.Error
	if errors.As(err, &terr) {
		cause := diagnostics(terr)
		switch {
		case hasCode(terr, transport.ManifestUnknownErrorCode):
			return notFound("manifest for %s not found: %s", ref, cause)
		case hasCode(terr, transport.NameUnknownErrorCode):
			return notFound("repository %s not found: %s", repo, cause)
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden ||
			hasCode(terr, transport.UnauthorizedErrorCode) || hasCode(terr, transport.DeniedErrorCode):
			if verb == "push" {
				return fmt.Errorf("push access denied for %s, authorization may be required: %s: %w", repo, cause, errdefs.ErrFailedPrecondition)
			}
			return notFound("pull access denied for %s, repository does not exist or may require authorization: %s", repo, cause)
		case terr.StatusCode == http.StatusNotFound:
			return notFound("manifest for %s not found: %s", ref, cause)
		}
		return fmt.Errorf("%s %s: registry %s: %s", verb, ref, registry, cause)
	}
	var nerr *net.OpError
	if errors.As(err, &nerr) {
		return fmt.Errorf("%s %s: cannot reach registry %s: %v: %w", verb, ref, registry, nerr, errdefs.ErrFailedPrecondition)
	}
	return fmt.Errorf("%s %s: %w", verb, ref, err)
}

// notFound is an ErrNotFound whose message already says so.
func notFound(format string, args ...any) error {
	return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf(format, args...))
}

func hasCode(e *transport.Error, code transport.ErrorCode) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// diagnostics renders the registry's errors like Docker: "manifest unknown:
// manifest unknown".
func diagnostics(e *transport.Error) string {
	var parts []string
	for _, d := range e.Errors {
		code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		if d.Message != "" {
			code += ": " + d.Message
		}
		parts = append(parts, code)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return strings.Join(parts, "; ")
}

// familiarRepo drops the tag or digest of a familiar reference.
func familiarRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// isDigestRef reports whether a normalized reference names a manifest
// digest ("repo@sha256:...") rather than a tag.
func isDigestRef(ref string) bool { return strings.Contains(ref, "@") }
