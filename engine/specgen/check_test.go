package specgen

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// Docker Compose puts `expose` and the targets of `ports` into the
// container's ExposedPorts (pkg/compose/create.go buildContainerPorts), and
// the daemon adds the image's EXPOSE (daemon/commit.go merge).
func TestExposed(t *testing.T) {
	img := v1.Config{ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53": {}}}
	svc := svcWith(types.ContainerSpec{})
	svc.Expose = types.StringOrNumberList{"3000", "9000-9002/udp", "8080"}
	svc.Ports = []types.ServicePortConfig{{Target: 443, Protocol: "tcp"}}
	got, err := Exposed(svc, img)
	want := []string{"53/tcp", "443/tcp", "3000/tcp", "8080/tcp", "9000/udp", "9001/udp", "9002/udp"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Exposed = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"http", "0", "70000", "9002-9000", "80/icmp"} {
		svc := svcWith(types.ContainerSpec{})
		svc.Expose = types.StringOrNumberList{bad}
		_, err := Exposed(svc, v1.Config{})
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), `service "web": expose "`+bad+`"`) {
			t.Errorf("expose %q: err = %v", bad, err)
		}
	}
}

// Docker Compose turns external_links into links to that container name
// (pkg/compose/create.go getLinks: "container:alias").
func TestExternalLinks(t *testing.T) {
	svc := svcWith(types.ContainerSpec{})
	svc.Links = []string{"db:database"}
	svc.ExternalLinks = []string{"legacy-redis-1:cache", "plain"}
	want := map[string]string{"database": "db", "cache": "legacy-redis-1"}
	if got := Links(svc); !reflect.DeepEqual(got, want) {
		t.Fatalf("Links = %v, want %v", got, want)
	}
}

// use_api_socket needs Docker's API socket (Docker Compose bind-mounts
// /var/run/docker.sock): refused in one line naming the service and key.
func TestCheckServiceRefusesAPISocket(t *testing.T) {
	svc := svcWith(types.ContainerSpec{UseAPISocket: true})
	err := CheckService(svc)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `service "web": use_api_socket is not supported`) {
		t.Fatalf("err = %v", err)
	}
	if err := CheckService(svcWith(types.ContainerSpec{})); err != nil {
		t.Fatalf("plain service: %v", err)
	}
}
