package specgen

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// TestExposedPorts: the image's EXPOSE, expose (ranges, protocols) and the
// ports' targets, once each, in port order, as Docker's ExposedPorts.
func TestExposedMerge(t *testing.T) {
	img := v1.Config{ExposedPorts: map[string]struct{}{"8080/tcp": {}, "80/tcp": {}}}
	svc := types.ServiceConfig{Name: "web", WorkloadSpec: types.WorkloadSpec{
		Expose: types.StringOrNumberList{"80", "5000-5002/udp"},
		Ports:  []types.ServicePortConfig{{Target: 443}, {Target: 53, Protocol: "udp"}},
	}}
	got, err := Exposed(svc, img)
	if err != nil {
		t.Fatal(err)
	}
	if want := "53/udp,80/tcp,443/tcp,5000/udp,5001/udp,5002/udp,8080/tcp"; strings.Join(got, ",") != want {
		t.Errorf("exposed %v, want %s", got, want)
	}
	svc.NetworkMode = "host"
	if got, _ := Exposed(svc, img); got != nil {
		t.Errorf("network_mode host: %v", got)
	}
	for _, bad := range []string{"http", "90-80", "80-x"} {
		if _, err := expandExpose(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("expose %q: %v", bad, err)
		}
	}
}
