package diagram

import (
	"bytes"
	"fmt"
	"strings"
)

// Mermaid writes the picture as a Mermaid flowchart (top-down, as Dot):
// services as boxes, networks as stadiums, volumes as cylinders, the
// colours as classes.
func (d *Diagram) Mermaid() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nflowchart TD\n", mermaidText("project "+d.Project))
	for _, n := range d.Nodes {
		open, closing := mermaidShape(n.Kind)
		fmt.Fprintf(&b, "    %s%s\"%s\"%s\n", n.ID, open, mermaidText(strings.Join(d.lines(n), "\n")), closing)
	}
	for _, e := range d.Needs {
		fmt.Fprintf(&b, "    %s -->|\"%s\"| %s\n", e.From, mermaidText(e.Label()), e.To)
	}
	for _, u := range d.Uses {
		fmt.Fprintf(&b, "    %s -.- %s\n", u.Service, u.Resource)
	}
	legend := d.legend()
	if len(legend) > 0 {
		b.WriteString("    subgraph legend [\"state\"]\n        direction TB\n")
		for _, c := range legend {
			fmt.Fprintf(&b, "        legend_%s[\"%s\"]:::%s\n", c.key, mermaidText(c.label), c.key)
		}
		b.WriteString("    end\n")
	}

	// Classes: one per colour in use (the legend's among them), then the
	// nodes of each.
	members := map[string][]string{}
	var order []string
	for _, n := range d.Nodes {
		c := mermaidClass(d, n)
		if _, ok := members[c]; !ok {
			order = append(order, c)
			fill, stroke := d.colors(n)
			dash := ""
			if c == "absent" { // as the other formats draw it: a dashed border
				dash = ",stroke-dasharray:5 3"
			}
			fmt.Fprintf(&b, "    classDef %s fill:%s,stroke:%s,color:#000000%s\n", c, fill, stroke, dash)
		}
		members[c] = append(members[c], n.ID)
	}
	for _, c := range order {
		fmt.Fprintf(&b, "    class %s %s\n", strings.Join(members[c], ","), c)
	}
	return b.Bytes()
}

func mermaidShape(k Kind) (open, closing string) {
	switch k {
	case KindNetwork:
		return "([", "])"
	case KindVolume:
		return "[(", ")]"
	}
	return "[", "]"
}

// mermaidClass names the class (colour) of a node: its state's with
// states, else its kind's.
func mermaidClass(d *Diagram, n Node) string {
	switch {
	case n.Kind == KindNetwork:
		return "network"
	case n.Kind == KindVolume:
		return "volume"
	case d.Colored:
		return n.State.class().key
	}
	return "service"
}

// mermaidText makes s safe inside a quoted Mermaid label: its entity codes
// for the characters that end or confuse one, <br/> for line breaks.
func mermaidText(s string) string {
	r := strings.NewReplacer(`#`, "#35;", `"`, "#quot;", `<`, "#lt;", `>`, "#gt;", "\n", "<br/>")
	return r.Replace(s)
}
