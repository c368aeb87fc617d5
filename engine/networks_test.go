package engine

import (
	"testing"

	"github.com/composer-dev/compose/networks"
)

func TestPortText(t *testing.T) {
	if got := portText(networks.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}); got != "0.0.0.0:8080->80/tcp" {
		t.Fatal(got)
	}
}
