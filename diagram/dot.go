package diagram

import (
	"bytes"
	"fmt"
	"strings"
)

// Dot writes the picture in Graphviz's dot language: services as boxes,
// networks as ellipses, volumes as cylinders, a needed service below the
// one that needs it (as `docker compose viz` prints it, `dot -Tsvg` draws it).
func (d *Diagram) Dot() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(d.Project))
	fmt.Fprintf(&b, "\tgraph [label=%s, labelloc=t, fontname=\"Helvetica\", rankdir=TB, nodesep=0.4, ranksep=0.6];\n", dotQuote("project "+d.Project))
	b.WriteString("\tnode [fontname=\"Helvetica\", fontsize=12];\n")
	b.WriteString("\tedge [fontname=\"Helvetica\", fontsize=10];\n\n")
	for _, n := range d.Nodes {
		fill, stroke := d.colors(n)
		fmt.Fprintf(&b, "\t%s [label=%s, shape=%s, style=%s, fillcolor=%s, color=%s];\n",
			n.ID, dotQuote(strings.Join(d.lines(n), "\n")), dotShape(n.Kind), dotStyle(d, n), dotQuote(fill), dotQuote(stroke))
	}
	if len(d.Needs) > 0 {
		b.WriteString("\n")
	}
	for _, e := range d.Needs {
		fmt.Fprintf(&b, "\t%s -> %s [label=%s, color=%s];\n", e.From, e.To, dotQuote(e.Label()), dotQuote(needColor))
	}
	if len(d.Uses) > 0 {
		b.WriteString("\n")
	}
	for _, u := range d.Uses {
		fmt.Fprintf(&b, "\t%s -> %s [style=dashed, arrowhead=none, color=%s];\n", u.Service, u.Resource, dotQuote(useColor))
	}
	if legend := d.legend(); len(legend) > 0 {
		b.WriteString("\n\tsubgraph cluster_legend {\n\t\tlabel=\"state\";\n\t\tfontsize=11;\n\t\tcolor=\"#bbbbbb\";\n")
		for _, c := range legend {
			fmt.Fprintf(&b, "\t\tlegend_%s [label=%s, shape=box, style=\"rounded,filled\", fillcolor=%s, color=%s, fontsize=10];\n",
				c.key, dotQuote(c.label), dotQuote(c.fill), dotQuote(c.stroke))
		}
		// Invisible edges stack the entries in one column.
		for i := 1; i < len(legend); i++ {
			fmt.Fprintf(&b, "\t\tlegend_%s -> legend_%s [style=invis];\n", legend[i-1].key, legend[i].key)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func dotShape(k Kind) string {
	switch k {
	case KindNetwork:
		return "ellipse"
	case KindVolume:
		return "cylinder"
	}
	return "box"
}

// dotStyle: services are rounded boxes; one not created has a dashed border.
func dotStyle(d *Diagram, n Node) string {
	switch {
	case n.Kind != KindService:
		return `"filled"`
	case d.Colored && n.State.Status == "":
		return `"rounded,filled,dashed"`
	}
	return `"rounded,filled"`
}

// dotQuote makes s a dot string: quotes and backslashes escaped, line
// breaks as \n (centred lines).
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")
	return `"` + r.Replace(s) + `"`
}
