package build

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/composer-dev/compose/errdefs"
)

// `docker compose commit -c` passes Dockerfile instructions to the daemon's
// commit, which takes CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER,
// VOLUME, WORKDIR, HEALTHCHECK and STOPSIGNAL and refuses the others with
// "<INSTRUCTION> is not a valid change command".
func TestApplyChanges(t *testing.T) {
	cfg := &v1.ConfigFile{}
	cfg.Config.Env = []string{"A=1"}
	err := ApplyChanges(cfg, []string{`CMD ["sh", "-c", "echo hi"]`, "ENV B=2", "LABEL x=y", "EXPOSE 80/tcp", "WORKDIR /srv", "USER nobody"})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if !slices.Equal(c.Cmd, []string{"sh", "-c", "echo hi"}) || !slices.Equal(c.Env, []string{"A=1", "B=2"}) ||
		c.Labels["x"] != "y" || c.WorkingDir != "/srv" || c.User != "nobody" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("exposed %v", c.ExposedPorts)
	}
	err = ApplyChanges(cfg, []string{"RUN echo no"})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "RUN is not a valid change command") {
		t.Errorf("RUN: %v", err)
	}
}
