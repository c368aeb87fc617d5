package build

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/composer-dev/compose/errdefs"
)

// commitChanges are the instructions `docker commit --change` accepts
// (moby's validCommitCommands).
var commitChanges = map[string]bool{
	"cmd": true, "entrypoint": true, "healthcheck": true, "env": true, "expose": true, "label": true,
	"onbuild": true, "stopsignal": true, "user": true, "volume": true, "workdir": true,
}

// ApplyChanges applies `commit --change` Dockerfile instructions to cfg,
// as docker commit does; any other instruction is refused with moby's
// message.
func ApplyChanges(cfg *v1.ConfigFile, changes []string) error {
	for _, change := range changes {
		res, err := parser.Parse(strings.NewReader(change))
		if err != nil {
			return fmt.Errorf("--change %q: %v: %w", change, err, errdefs.ErrInvalidArgument)
		}
		for _, node := range res.AST.Children {
			if !commitChanges[strings.ToLower(node.Value)] {
				return fmt.Errorf("%s is not a valid change command: %w", node.Value, errdefs.ErrInvalidArgument)
			}
			c, err := instructions.ParseCommand(node)
			if err != nil {
				return fmt.Errorf("--change %q: %v: %w", change, err, errdefs.ErrInvalidArgument)
			}
			var args env
			if err := applyConfig(cfg, &args, c, nil, nil); err != nil {
				return fmt.Errorf("--change %q: %w", change, err)
			}
		}
	}
	return nil
}
