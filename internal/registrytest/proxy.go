package registrytest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Proxy is a reverse proxy on 127.0.0.1 in front of a registry that counts
// blob downloads and can tamper with or stall them.
type Proxy struct {
	Addr string // "127.0.0.1:port"; use it in references instead of the registry's

	mu     sync.Mutex
	gets   map[string]int // blob digest -> completed GETs
	tamper func(digest string, body []byte) []byte
	stall  func(digest string) bool
	// Stalled receives the digest of each blob download that was stalled.
	Stalled chan string
}

// NewProxy starts a proxy to r, closed when the test ends.
func NewProxy(t testing.TB, r *Registry) *Proxy {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: r.Addr}
	p := &Proxy{gets: map[string]int{}, Stalled: make(chan string, 16)}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = p.modify
	// Clients that go away (cancelled pulls) are expected; don't log them.
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	srv := httptest.NewServer(p.handler(rp))
	t.Cleanup(srv.Close)
	p.Addr = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// Ref returns the full reference of repoTag through the proxy.
func (p *Proxy) Ref(repoTag string) string { return p.Addr + "/" + repoTag }

// Tamper sets a function that rewrites blob bodies served (nil: none).
func (p *Proxy) Tamper(fn func(digest string, body []byte) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = fn
}

// Stall sets a function choosing blob downloads to stall: half the body is
// sent, then the response hangs until the client goes away (nil: none).
func (p *Proxy) Stall(fn func(digest string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stall = fn
}

// BlobGets returns how many times the blob with digest was downloaded.
func (p *Proxy) BlobGets(digest string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets[digest]
}

// TotalBlobGets returns how many blob downloads (configs included) the
// proxy served.
func (p *Proxy) TotalBlobGets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.gets {
		n += c
	}
	return n
}

func blobDigest(r *http.Request) (string, bool) {
	_, d, ok := strings.Cut(r.URL.Path, "/blobs/")
	if !ok || r.Method != http.MethodGet || !strings.HasPrefix(d, "sha256:") {
		return "", false
	}
	return d, true
}

func (p *Proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := blobDigest(r)
		p.mu.Lock()
		stall := ok && p.stall != nil && p.stall(d)
		p.mu.Unlock()
		if !stall {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r.Clone(r.Context()))
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		p.Stalled <- d
		<-r.Context().Done()
	})
}

func (p *Proxy) modify(resp *http.Response) error {
	d, ok := blobDigest(resp.Request)
	if !ok || resp.StatusCode != http.StatusOK {
		return nil
	}
	p.mu.Lock()
	p.gets[d]++
	tamper := p.tamper
	p.mu.Unlock()
	if tamper == nil {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = tamper(d, body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}
