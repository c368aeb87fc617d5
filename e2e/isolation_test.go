package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/composer-dev/compose/internal/testutil"
)

const isolationStack = `
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hi > /index.html && exec httpd -f -p 80 -h /"]
    networks: [back]
  front:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front]
  plain:
    image: busybox
    command: ["sleep", "1000"]
  both:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front, back]
networks:
  front:
    driver_opts:
      com.docker.network.bridge.name: %s
  back:
    driver_opts:
      com.docker.network.bridge.name: %s
`

// TestIsolationRenamedBridges: networks with custom bridge names are as
// isolated as default ones: neither another renamed bridge nor a "br-*"
// one reaches a container on them; a container on both networks does.
func TestIsolationRenamedBridges(t *testing.T) {
	testutil.RequiresRoot(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	front, back := "cfr"+hex.EncodeToString(b), "cbk"+hex.EncodeToString(b)
	c := projectCLI(t, "iso", fmt.Sprintf(isolationStack, front, back))
	c.must("up", "-d")
	var webIP string
	for _, n := range c.networks() {
		for _, e := range n.Endpoints {
			if strings.HasSuffix(n.Name, "_back") && strings.HasSuffix(e.ContainerName, "-web-1") {
				webIP = e.IP
			}
		}
	}
	if webIP == "" {
		t.Fatalf("no address for web on back: %+v", c.networks())
	}
	get := func(service string) result {
		return c.run("exec", service, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 "+webIP+" 80")
	}
	if r := get("both"); r.code != 0 || !strings.Contains(r.stdout, "hi") {
		t.Fatalf("both (on back too) does not reach web at %s: %s", webIP, r)
	}
	for _, svc := range []string{"front", "plain"} {
		if r := get(svc); strings.Contains(r.stdout, "hi") {
			t.Errorf("%s reached web at %s on another network", svc, webIP)
		}
	}
}
