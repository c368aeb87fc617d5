package registrytest

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/composer-dev/compose/internal/busybox"
)

func TestStartAndPush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		auth bool
	}{
		{name: "anonymous"},
		{name: "htpasswd", auth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Start(t, Options{Auth: tt.auth})
			resp, err := http.Get("http://" + r.Addr + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := http.StatusOK
			if tt.auth {
				want = http.StatusUnauthorized
			}
			if resp.StatusCode != want {
				t.Fatalf("/v2/ answered %d, want %d", resp.StatusCode, want)
			}
			bb, err := busybox.Image()
			if err != nil {
				t.Fatal(err)
			}
			d := r.Push(t, "bb:1", bb)
			idx, err := MultiPlatform()
			if err != nil {
				t.Fatal(err)
			}
			id := r.PushIndex(t, "multi:1", idx)

			p := NewProxy(t, r)
			opts := r.options(t)
			for ref, digest := range map[string]string{p.Ref("bb:1"): d, p.Ref("multi:1"): id} {
				n, err := name.ParseReference(ref)
				if err != nil {
					t.Fatal(err)
				}
				desc, err := remote.Head(n, opts...)
				if err != nil {
					t.Fatalf("head %s: %v", ref, err)
				}
				if desc.Digest.String() != digest {
					t.Errorf("%s has digest %s, want %s", ref, desc.Digest, digest)
				}
			}
		})
	}
}

func TestProxyCountsAndTampers(t *testing.T) {
	t.Parallel()
	r := Start(t, Options{})
	bb, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	r.Push(t, "bb:1", bb)
	p := NewProxy(t, r)
	layers, _ := bb.Layers()
	ld, _ := layers[0].Digest()
	p.Tamper(func(d string, b []byte) []byte {
		if d == ld.String() {
			b[len(b)/2] ^= 0xff
		}
		return b
	})
	l, err := remote.Layer(mustDigest(t, p.Addr+"/bb@"+ld.String()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 1<<20)
	var readErr error
	for readErr == nil {
		_, readErr = rc.Read(buf)
	}
	if readErr.Error() == "EOF" {
		t.Fatal("tampered blob read without a digest error")
	}
	if got := p.BlobGets(ld.String()); got != 1 {
		t.Errorf("BlobGets = %d, want 1", got)
	}
}

func mustDigest(t *testing.T, s string) name.Digest {
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
