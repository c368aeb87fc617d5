package project

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	yamlv4 "go.yaml.in/yaml/v4"
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
		out, err = marshalYAML(p)
	case "json":
		if out, err = p.MarshalJSON(); err == nil {
			out, err = orderJSONServices(out)
		}
	default:
		return nil, fmt.Errorf("unsupported format %q: %w", format, errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(out, []byte("$"), []byte("$$")), nil
}

// marshalYAML is compose-go's YAML as Docker Compose prints it: each
// service's keys in its order (order.go), and yaml.v3's style (2-space
// indent, lines folded at 80 columns), which its compose-go encodes with.
func marshalYAML(p *types.Project) ([]byte, error) {
	raw, err := p.MarshalYAML()
	if err != nil {
		return nil, err
	}
	var doc yamlv4.Node
	if err := yamlv4.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	orderServices(&doc)
	return yamlv4.Dump(&doc, yamlv4.V3, yamlv4.WithIndent(2))
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
