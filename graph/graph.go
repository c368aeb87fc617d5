// Package graph is the service dependency graph of a project: edges from
// depends_on, links, and namespaces or volumes shared with another service.
// It finds cycles and walks the services in dependency order (Up) or in
// reverse (Down), in parallel with bounded concurrency.
package graph

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

// Graph is an immutable DAG of service names; an edge a -> b means a needs b.
type Graph struct {
	deps       map[string][]string // direct dependencies, sorted
	dependents map[string][]string // reverse edges, sorted
}

// New builds the graph of p's (enabled) services.
func New(p *types.Project) (*Graph, error) {
	edges := map[string][]string{}
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		set := map[string]bool{}
		for _, e := range EdgesOf(name, s) {
			if _, ok := p.Services[e.To]; !ok {
				if !e.Required {
					continue
				}
				return nil, fmt.Errorf("service %q depends on undefined service %q (%s): %w", name, e.To, e.Via, errdefs.ErrInvalidArgument)
			}
			set[e.To] = true
		}
		edges[name] = sortedKeys(set)
	}
	g := build(edges)
	if cycle := g.findCycle(); cycle != nil {
		return nil, fmt.Errorf("dependency cycle detected: %s: %w", strings.Join(cycle, " -> "), errdefs.ErrInvalidArgument)
	}
	return g, nil
}

// build makes a Graph from sorted edge lists, every target being a node.
func build(edges map[string][]string) *Graph {
	g := &Graph{deps: edges, dependents: map[string][]string{}}
	for n, deps := range edges {
		if _, ok := g.dependents[n]; !ok {
			g.dependents[n] = nil
		}
		for _, d := range deps {
			g.dependents[d] = append(g.dependents[d], n)
		}
	}
	for _, ds := range g.dependents {
		slices.Sort(ds)
	}
	return g
}

// findCycle returns the first cycle found, as a path that ends where it
// starts (a -> b -> a), or nil. Visiting in sorted order makes it stable.
func (g *Graph) findCycle() []string {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = visiting
		stack = append(stack, n)
		for _, d := range g.deps[n] {
			switch state[d] {
			case visiting:
				i := slices.Index(stack, d)
				return append(slices.Clone(stack[i:]), d)
			case unvisited:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, n := range g.Services() {
		if state[n] == unvisited {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

// Services returns all service names, sorted.
func (g *Graph) Services() []string {
	return sortedKeys(g.deps)
}

// Dependencies returns the services that service directly needs, sorted.
func (g *Graph) Dependencies(service string) []string {
	return slices.Clone(g.deps[service])
}

// Dependents returns the services that directly need service, sorted.
func (g *Graph) Dependents(service string) []string {
	return slices.Clone(g.dependents[service])
}

// Subset restricts the graph to services, plus everything they transitively
// depend on when withDeps is set. Edges to services left out are dropped.
func (g *Graph) Subset(services []string, withDeps bool) (*Graph, error) {
	keep := map[string]bool{}
	var add func(n string)
	add = func(n string) {
		if keep[n] {
			return
		}
		keep[n] = true
		if withDeps {
			for _, d := range g.deps[n] {
				add(d)
			}
		}
	}
	for _, s := range services {
		if _, ok := g.deps[s]; !ok {
			return nil, errdefs.Mark(errdefs.ErrNotFound, fmt.Errorf("no such service: %s", s))
		}
		add(s)
	}
	edges := make(map[string][]string, len(keep))
	for n := range keep {
		var deps []string
		for _, d := range g.deps[n] {
			if keep[d] {
				deps = append(deps, d)
			}
		}
		edges[n] = deps
	}
	return build(edges), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
