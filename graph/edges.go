package graph

import (
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Edge is one reason a service needs another: a depends_on entry, a link,
// or a namespace or volumes shared with it.
type Edge struct {
	From, To string
	// Via is the key that makes the edge: "depends_on", "links",
	// "network_mode", "ipc", "pid", "uts", "cgroup" or "volumes_from".
	Via string
	// Condition, Required and Restart are depends_on's; the other keys
	// need the service started and are always required.
	Condition string
	Required  bool
	Restart   bool
}

// EdgesOf lists why service name (configured as s) needs others, in a
// stable order: depends_on by name, links, shared namespaces, volumes_from.
// A target may be missing from the project: New checks that.
func EdgesOf(name string, s types.ServiceConfig) []Edge {
	var out []Edge
	for _, dep := range sortedKeys(s.DependsOn) {
		d := s.DependsOn[dep]
		out = append(out, Edge{From: name, To: dep, Via: "depends_on", Condition: d.Condition, Required: d.Required, Restart: d.Restart})
	}
	needs := func(dep, via string) {
		out = append(out, Edge{From: name, To: dep, Via: via, Condition: types.ServiceConditionStarted, Required: true})
	}
	for _, l := range s.Links {
		dep, _, _ := strings.Cut(l, ":")
		needs(dep, "links")
	}
	shared := [][2]string{{"network_mode", s.NetworkMode}, {"ipc", s.Ipc}, {"pid", s.Pid}, {"uts", s.Uts}, {"cgroup", s.Cgroup}}
	for _, ns := range shared {
		if dep, ok := strings.CutPrefix(ns[1], types.ServicePrefix); ok {
			needs(dep, ns[0])
		}
	}
	for _, v := range s.VolumesFrom {
		if strings.HasPrefix(v, types.ContainerPrefix) {
			continue // another container, not part of the graph
		}
		v = strings.TrimPrefix(v, types.ServicePrefix)
		dep, _, _ := strings.Cut(v, ":")
		needs(dep, "volumes_from")
	}
	return out
}
