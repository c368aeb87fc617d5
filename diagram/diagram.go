// Package diagram draws a project as a picture: its services, networks and
// volumes as nodes, what each service needs (depends_on with its
// condition, links, network_mode/ipc/pid/uts/cgroup and volumes_from
// service:X) as labelled arrows, and what it uses (networks, named
// volumes) as plain lines. With the running state of the services, each
// is coloured by it, with a legend.
//
// The model is built from a loaded project plus an optional state map;
// Dot, Mermaid and SVG render it. The SVG is drawn here (a small layered
// layout), so no Graphviz is needed. Nothing here touches the host.
package diagram

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/graph"
)

// Options select what New draws.
type Options struct {
	// Services, when set, limits the picture to them and what they
	// (transitively) need.
	Services []string
	// States are the services' running states, by service (see States).
	// nil draws the plain picture; with a map, a service missing from it
	// is drawn as not created.
	States map[string]State
}

// Kind is what a node stands for.
type Kind int

// The kinds of node.
const (
	KindService Kind = iota
	KindNetwork
	KindVolume
)

// Node is a service, network or volume of the picture.
type Node struct {
	ID   string // unique, [A-Za-z0-9_]: usable as a Graphviz, Mermaid and XML id
	Kind Kind
	Name string // the key in the compose file
	// Detail is the second line: a service's image ("<project>-<service>
	// (build)" when it is built); "network" or "volume", with the real
	// name of an external one.
	Detail string
	State  State // services of a picture with states
}

// Need is an arrow: service From needs service To, for the Reasons given
// (each a depends_on condition, or the key that makes the dependency).
type Need struct {
	From, To string // node IDs
	Reasons  []string
}

// Label is the text on the arrow.
func (n Need) Label() string { return strings.Join(n.Reasons, ", ") }

// Use is a line from a service to a network or volume it is attached to.
type Use struct {
	Service, Resource string // node IDs
}

// Diagram is the picture of a project, independent of the format it is
// written in. Nodes come in a stable order: services, networks, volumes,
// each by name.
type Diagram struct {
	Project string
	Nodes   []Node
	Needs   []Need
	Uses    []Use
	// Colored is set when the picture has states: services are coloured
	// by them and a legend says what the colours mean.
	Colored bool
}

// New builds the picture of p's enabled services (opts.Services and their
// dependencies when given). A service named but not in the project is
// errdefs.ErrNotFound; a dependency cycle or an undefined dependency is
// errdefs.ErrInvalidArgument, as graph.New reports them.
func New(p *types.Project, opts Options) (*Diagram, error) {
	g, err := graph.New(p)
	if err != nil {
		return nil, err
	}
	names := g.Services()
	if len(opts.Services) > 0 {
		if g, err = g.Subset(opts.Services, true); err != nil {
			return nil, err
		}
		names = g.Services()
	}
	d := &Diagram{Project: p.Name, Colored: opts.States != nil}
	ids := idMaker{}
	svcID := map[string]string{}
	for _, name := range names {
		s := p.Services[name]
		n := Node{ID: ids.make("s_", name), Kind: KindService, Name: name, Detail: imageOf(p, s)}
		if d.Colored {
			n.State = opts.States[name]
		}
		svcID[name] = n.ID
		d.Nodes = append(d.Nodes, n)
	}
	for _, name := range names {
		d.Needs = append(d.Needs, needsOf(name, p.Services[name], svcID)...)
	}

	// Resources: all the project declares when the whole project is
	// drawn, else those the drawn services use.
	netUsers, volUsers := map[string][]string{}, map[string][]string{}
	for _, name := range names {
		s := p.Services[name]
		for _, net := range slices.Sorted(maps.Keys(s.Networks)) {
			if _, ok := p.Networks[net]; ok && !slices.Contains(netUsers[net], name) {
				netUsers[net] = append(netUsers[net], name)
			}
		}
		for _, v := range s.Volumes {
			if _, ok := p.Volumes[v.Source]; ok && v.Type == types.VolumeTypeVolume && !slices.Contains(volUsers[v.Source], name) {
				volUsers[v.Source] = append(volUsers[v.Source], name)
			}
		}
	}
	addResources := func(kind Kind, prefix, noun string, declared []string, users map[string][]string, realName func(string) (string, bool)) {
		for _, r := range declared {
			if len(opts.Services) > 0 && len(users[r]) == 0 {
				continue
			}
			n := Node{ID: ids.make(prefix, r), Kind: kind, Name: r, Detail: noun}
			if real, external := realName(r); external {
				n.Detail = "external " + noun + ": " + real
			}
			d.Nodes = append(d.Nodes, n)
			for _, u := range users[r] {
				d.Uses = append(d.Uses, Use{Service: svcID[u], Resource: n.ID})
			}
		}
	}
	addResources(KindNetwork, "n_", "network", slices.Sorted(maps.Keys(p.Networks)), netUsers, func(k string) (string, bool) {
		return p.Networks[k].Name, bool(p.Networks[k].External)
	})
	addResources(KindVolume, "v_", "volume", slices.Sorted(maps.Keys(p.Volumes)), volUsers, func(k string) (string, bool) {
		return p.Volumes[k].Name, bool(p.Volumes[k].External)
	})
	return d, nil
}

// needsOf folds service name's graph edges into one arrow per service it
// needs, in the order graph.EdgesOf gives them. Optional dependencies on
// services not drawn are left out, as graph.New leaves them out. The
// loader adds a depends_on service_started entry for each link, shared
// namespace and volumes_from: beside one of those it says nothing more
// and is left out of the label.
func needsOf(name string, s types.ServiceConfig, ids map[string]string) []Need {
	var out []Need
	implied := map[string]bool{} // targets with a plain service_started depends_on
	for _, e := range graph.EdgesOf(name, s) {
		to, ok := ids[e.To]
		if !ok {
			continue
		}
		reason := e.Via
		if e.Via == "depends_on" {
			reason = e.Condition
			if reason == "" {
				reason = types.ServiceConditionStarted
			}
			if e.Restart {
				reason += " (restart)"
			}
			if !e.Required {
				reason += " (optional)"
			}
		}
		i := slices.IndexFunc(out, func(n Need) bool { return n.To == to })
		if i < 0 {
			out = append(out, Need{From: ids[name], To: to})
			i = len(out) - 1
		}
		if e.Via == "depends_on" && e.Required && (e.Condition == types.ServiceConditionStarted || e.Condition == "") {
			implied[to] = true
		}
		if !slices.Contains(out[i].Reasons, reason) {
			out[i].Reasons = append(out[i].Reasons, reason)
		}
	}
	for i, n := range out {
		if implied[n.To] && len(n.Reasons) > 1 {
			out[i].Reasons = n.Reasons[1:] // depends_on comes first
		}
	}
	return out
}

// imageOf is the image a service runs; a built one is named the way the
// engine names it when the file does not.
func imageOf(p *types.Project, s types.ServiceConfig) string {
	img := s.Image
	if s.Build != nil {
		if img == "" {
			img = p.Name + "-" + s.Name
		}
		return img + " (build)"
	}
	return img
}

// idMaker gives each node an id of [A-Za-z0-9_] (what Mermaid and XML
// accept), unique even when two names differ only in other characters.
type idMaker map[string]bool

func (m idMaker) make(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range name {
		if r < 0x80 && (r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	id := b.String()
	for i := 2; m[id]; i++ {
		id = fmt.Sprintf("%s_%d", b.String(), i)
	}
	m[id] = true
	return id
}

// Render writes the picture in format: "dot" (Graphviz), "mermaid" (a
// flowchart) or "svg". Another format is errdefs.ErrInvalidArgument.
func (d *Diagram) Render(format string) ([]byte, error) {
	switch format {
	case "dot", "":
		return d.Dot(), nil
	case "mermaid":
		return d.Mermaid(), nil
	case "svg":
		return d.SVG(), nil
	}
	return nil, fmt.Errorf("--format %q: must be one of dot, mermaid, svg: %w", format, errdefs.ErrInvalidArgument)
}

// legend lists the state classes the services are in, in the legend's order.
func (d *Diagram) legend() []stateClass {
	if !d.Colored {
		return nil
	}
	var out []stateClass
	for _, c := range classes {
		if slices.ContainsFunc(d.Nodes, func(n Node) bool { return n.Kind == KindService && n.State.class().key == c.key }) {
			out = append(out, c)
		}
	}
	return out
}
