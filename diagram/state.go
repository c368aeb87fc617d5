package diagram

import (
	"fmt"
	"slices"
)

// Container is one container of a service as `ps -a` reports it.
type Container struct {
	Service  string
	State    string // Docker's: created, running, paused, restarting, exited, dead, removing
	Health   string // starting, healthy, unhealthy; "" without a healthcheck
	ExitCode int
}

// State is a service's running state: that of its container most in need
// of attention (an unhealthy replica colours the service), with how many
// containers it has. The zero State is a service with no container.
type State struct {
	Status     string // as Container.State; "" when not created
	Health     string
	ExitCode   int
	Containers int
}

// States folds containers into one State per service.
func States(cs []Container) map[string]State {
	out := map[string]State{}
	for _, c := range cs {
		st := State{Status: c.State, Health: c.Health, ExitCode: c.ExitCode}
		prev, seen := out[c.Service]
		if seen && prev.class().rank <= st.class().rank {
			st = prev
		}
		st.Containers = prev.Containers + 1
		out[c.Service] = st
	}
	return out
}

// Text is the state as a node shows it: "running (healthy)", "exited (1)",
// "not created"; "×N" when the service has several containers.
func (s State) Text() string {
	var t string
	switch {
	case s.Status == "":
		t = "not created"
	case s.Status == "exited":
		t = fmt.Sprintf("exited (%d)", s.ExitCode)
	case s.Status == "running" && s.Health != "":
		t = "running (" + s.Health + ")"
	default:
		t = s.Status
	}
	if s.Containers > 1 {
		t += fmt.Sprintf(" ×%d", s.Containers)
	}
	return t
}

// stateClass is a colour of the legend and the states it stands for.
type stateClass struct {
	key    string // also the Mermaid class name
	label  string // in the legend
	fill   string
	stroke string
	rank   int // lower: more in need of attention, wins when replicas differ
}

// classes are the legend's entries, in its order. Green is well, amber is
// on its way, red is wrong, grey has stopped, white was never made.
var classes = []stateClass{
	{"running", "running / healthy", "#b7e4b0", "#2e7d32", 7},
	{"starting", "starting", "#ffe08a", "#b58900", 4},
	{"restarting", "restarting", "#ffc58a", "#e65100", 2},
	{"unhealthy", "unhealthy", "#f4a6a6", "#c62828", 1},
	{"dead", "dead", "#e57373", "#b71c1c", 0},
	{"paused", "paused", "#bcd4f6", "#1565c0", 5},
	{"exited", "exited", "#d6d6d6", "#616161", 3},
	{"created", "created", "#fff7d6", "#8d6e63", 6},
	{"absent", "not created", "#ffffff", "#9e9e9e", 8},
}

// class is the legend entry the state belongs to.
func (s State) class() stateClass {
	key := s.Status
	switch {
	case s.Status == "":
		key = "absent"
	case s.Status == "running" && (s.Health == "starting" || s.Health == "unhealthy"):
		key = s.Health
	case s.Status == "removing":
		key = "exited"
	}
	i := slices.IndexFunc(classes, func(c stateClass) bool { return c.key == key })
	if i < 0 {
		i = slices.IndexFunc(classes, func(c stateClass) bool { return c.key == "dead" }) // a state this does not know: flag it
	}
	return classes[i]
}

// The colours of the plain picture and of the resources.
const (
	plainFill     = "#e8f0fb"
	plainStroke   = "#3b6ea5"
	networkFill   = "#efe6fa"
	networkStroke = "#7a55a8"
	volumeFill    = "#fcf0dc"
	volumeStroke  = "#a8743a"
	needColor     = "#444444"
	useColor      = "#8c96a3"
)

// colors are the fill and stroke of a node.
func (d *Diagram) colors(n Node) (fill, stroke string) {
	switch {
	case n.Kind == KindNetwork:
		return networkFill, networkStroke
	case n.Kind == KindVolume:
		return volumeFill, volumeStroke
	case d.Colored:
		c := n.State.class()
		return c.fill, c.stroke
	}
	return plainFill, plainStroke
}

// lines are the text lines of a node: its name, its detail, its state.
func (d *Diagram) lines(n Node) []string {
	out := []string{n.Name}
	if n.Detail != "" {
		out = append(out, n.Detail)
	}
	if d.Colored && n.Kind == KindService {
		out = append(out, n.State.Text())
	}
	return out
}
