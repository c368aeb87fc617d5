package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/moby/patternmatcher"

	"github.com/composer-dev/compose/errdefs"
)

const dockerImagePrefix = "docker-image://"

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// sources matches a COPY/ADD's sources in bctx; with fetch, URLs are
// downloaded (ADD). It returns them with the digest of their content.
func (r *run) sources(ctx context.Context, bctx *buildContext, cp copySpec, fetch bool) ([]source, string, error) {
	var all []source
	var urls []string
	for _, p := range cp.sd.SourcePaths {
		if fetch && isURL(p) {
			s, sum, err := r.fetch(ctx, p)
			if err != nil {
				return nil, "", err
			}
			all = append(all, s)
			urls = append(urls, p+" "+sum)
			continue
		}
		m, err := bctx.match(p)
		if err != nil {
			return nil, "", err
		}
		if len(cp.excludes) > 0 {
			ex, err := patternmatcher.New(cp.excludes)
			if err != nil {
				return nil, "", fmt.Errorf("--exclude: %v: %w", err, errdefs.ErrInvalidArgument)
			}
			// A source the patterns name goes whole; a directory's
			// entries are matched as it is walked.
			m = slices.DeleteFunc(m, func(s source) bool {
				hit, _ := ex.MatchesOrParentMatches(path.Base(s.rel))
				return hit && s.rel != "."
			})
			for i := range m {
				m[i].exclude = ex
			}
		}
		all = append(all, m...)
	}
	d, err := bctx.digest(all)
	if err != nil {
		return nil, "", err
	}
	if len(urls) > 0 {
		d += "\n" + strings.Join(urls, "\n")
	}
	return all, d, nil
}

// fetch downloads an ADD URL into the build's work dir. The file is named
// after the URL's last path element, has mode 0600 and the server's
// Last-Modified time, as Docker gives it.
func (r *run) fetch(ctx context.Context, rawURL string) (source, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return source{}, "", fmt.Errorf("ADD %s: %v: %w", rawURL, err, errdefs.ErrInvalidArgument)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return source{}, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return source{}, "", fmt.Errorf("ADD %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return source{}, "", fmt.Errorf("ADD %s: %s: %w", rawURL, resp.Status, errdefs.ErrNotFound)
	}
	if err := os.MkdirAll(r.b.Dir, 0o700); err != nil {
		return source{}, "", err
	}
	f, err := os.CreateTemp(r.b.Dir, "add-*")
	if err != nil {
		return source{}, "", err
	}
	r.temps = append(r.temps, f.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return source{}, "", fmt.Errorf("ADD %s: %w", rawURL, err)
	}
	mtime := time.Unix(0, 0)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = lm
	}
	if err := os.Chtimes(f.Name(), mtime, mtime); err != nil {
		return source{}, "", err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return source{}, "", err
	}
	fi, err := os.Lstat(f.Name())
	if err != nil {
		return source{}, "", err
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "__unnamed__"
	}
	return source{rel: name, abs: f.Name(), info: namedInfo{fi, name}, remote: true}, hex.EncodeToString(h.Sum(nil)), nil
}

// namedInfo is a temporary file's info under the name it is copied as.
type namedInfo struct {
	fs.FileInfo
	name string
}

func (n namedInfo) Name() string { return n.name }
