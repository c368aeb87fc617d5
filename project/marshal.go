package project

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/composer-dev/compose/errdefs"
)

// Marshal prints p as `docker compose config` does, in "yaml" (the default)
// or "json". Dollar signs are escaped again ($$) so the output can be loaded
// back without a second interpolation.
func Marshal(p *types.Project, format string) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch format {
	case "", "yaml":
		out, err = p.MarshalYAML()
	case "json":
		out, err = p.MarshalJSON()
	default:
		return nil, fmt.Errorf("unsupported format %q: %w", format, errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(out, []byte("$"), []byte("$$")), nil
}

// MarshalModel prints a raw model from LoadModel (`config --no-interpolate`).
func MarshalModel(m map[string]any, format string) ([]byte, error) {
	switch format {
	case "", "yaml":
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(m); err != nil {
			return nil, err
		}
		return buf.Bytes(), enc.Close()
	case "json":
		return json.MarshalIndent(m, "", "  ")
	default:
		return nil, fmt.Errorf("unsupported format %q: %w", format, errdefs.ErrInvalidArgument)
	}
}

// SelectServices checks that every name given on the command line is a
// service of p (enabled or disabled by a profile), as Compose does.
func SelectServices(p *types.Project, names []string) error {
	for _, n := range names {
		if _, ok := p.Services[n]; ok {
			continue
		}
		if _, ok := p.DisabledServices[n]; ok {
			continue
		}
		return errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", n))
	}
	return nil
}
