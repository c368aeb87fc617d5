package image

import (
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/composer-dev/compose/internal/registrytest"
)

// BenchmarkPull measures pull+unpack throughput from a local registry: a
// 40 MB image of 4 random (incompressible) layers into a fresh store per
// iteration. MB/s counts uncompressed layer bytes.
func BenchmarkPull(b *testing.B) {
	const layers, layerSize = 4, 10 << 20
	reg := registrytest.Start(b, registrytest.Options{})
	img, err := random.Image(layerSize, layers, random.WithSource(rand.NewSource(1)))
	if err != nil {
		b.Fatal(err)
	}
	reg.Push(b, "bench:1", img)
	ref := reg.Ref("bench:1")
	b.Run("random-40MB", func(b *testing.B) {
		b.SetBytes(layers * layerSize)
		dir := b.TempDir()
		for i := range b.N {
			s, err := Open(filepath.Join(dir, strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Pull(b.Context(), ref, PullOptions{RegistryOptions: RegistryOptions{Keychain: anonymous}}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := os.RemoveAll(s.Dir()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if sec := b.Elapsed().Seconds(); sec > 0 {
			b.ReportMetric(float64(b.N)*layers*layerSize/1e6/sec, "MB/s")
		}
	})
}
