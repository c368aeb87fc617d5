package diagram

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Legend sizes, in px.
const (
	legendGap    = 24.0 // between the graph and the legend
	legendRow    = 20.0
	legendSwatch = 14.0
)

// SVG draws the picture as a standalone SVG 1.1 document: the layout of
// layout.go, boxes sized to their text, curved arrows with their labels,
// and a legend of the state colours beside the graph when there are states.
func (d *Diagram) SVG() []byte {
	L := d.layout()
	title := "project " + d.Project
	width := max(L.width, margin*2+textWidth(title, 16, true))
	height := L.height

	legend := d.legend()
	var legendX, legendW float64
	if len(legend) > 0 {
		legendW = textWidth("state", detailSize, true)
		for _, c := range legend {
			legendW = max(legendW, legendSwatch+6+textWidth(c.label, detailSize, false))
		}
		legendW = math.Ceil(legendW + 20)
		legendX = width - margin + legendGap
		width = legendX + legendW + margin
		height = max(height, margin+titleH+legendRow*float64(len(legend)+1)+16+margin)
	}
	width, height = math.Ceil(width), math.Ceil(height)

	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n")
	b.WriteString("<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n")
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" font-family=\"%s\">\n",
		num(width), num(height), num(width), num(height), fontFamily)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&b, "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"10\" markerHeight=\"10\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker></defs>\n", needColor)
	fmt.Fprintf(&b, "<rect x=\"0\" y=\"0\" width=\"%s\" height=\"%s\" fill=\"#ffffff\"/>\n", num(width), num(height))
	fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\">%s</text>\n", num(margin), num(margin+16), esc(title))

	// Lines to resources under the arrows, arrows under the nodes, labels on top.
	b.WriteString("<g id=\"uses\" fill=\"none\" stroke=\"" + useColor + "\" stroke-width=\"1.2\" stroke-dasharray=\"5,4\">\n")
	for _, r := range L.routes {
		if !r.arrow {
			fmt.Fprintf(&b, "<path d=\"%s\"/>\n", curve(L.points(r)))
		}
	}
	b.WriteString("</g>\n<g id=\"needs\" fill=\"none\" stroke=\"" + needColor + "\" stroke-width=\"1.4\">\n")
	for _, r := range L.routes {
		if r.arrow {
			fmt.Fprintf(&b, "<path d=\"%s\" marker-end=\"url(#arrow)\"/>\n", curve(L.points(r)))
		}
	}
	b.WriteString("</g>\n<g id=\"nodes\">\n")
	for i, n := range d.Nodes {
		d.svgNode(&b, n, L.v[L.nodeV[i]])
	}
	b.WriteString("</g>\n<g id=\"labels\" font-size=\"" + num(detailSize) + "\" text-anchor=\"middle\" fill=\"#333333\">\n")
	for _, v := range L.v {
		if v.label == "" {
			continue
		}
		fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.9\"/>\n",
			num(v.left()), num(v.top()), num(v.w), num(v.h))
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\">%s</text>\n", num(v.x), num(v.y+4), esc(v.label))
	}
	b.WriteString("</g>\n")

	if len(legend) > 0 {
		top := margin + titleH
		h := legendRow*float64(len(legend)+1) + 8
		fmt.Fprintf(&b, "<g id=\"legend\" font-size=\"%s\" fill=\"#222222\">\n", num(detailSize))
		fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"4\" fill=\"#fafafa\" stroke=\"#bbbbbb\"/>\n", num(legendX), num(top), num(legendW), num(h))
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\" font-weight=\"bold\">state</text>\n", num(legendX+10), num(top+legendRow-4))
		for k, c := range legend {
			y := top + legendRow*float64(k+1) + 4
			fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"3\" fill=\"%s\" stroke=\"%s\"/>\n",
				num(legendX+10), num(y), num(legendSwatch), num(legendSwatch), c.fill, c.stroke)
			fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\">%s</text>\n", num(legendX+10+legendSwatch+6), num(y+11), esc(c.label))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// svgNode draws one node: a rounded box (a service), a pill (a network) or
// a cylinder (a volume), with its lines of text centred.
func (d *Diagram) svgNode(b *bytes.Buffer, n Node, v *vertex) {
	fill, stroke := d.colors(n)
	fmt.Fprintf(b, "<g id=\"%s\">\n<title>%s</title>\n", n.ID, esc(strings.Join(d.lines(n), "\n")))
	textTop := v.top() + padY
	switch n.Kind {
	case KindService:
		dash := ""
		if d.Colored && n.State.Status == "" {
			dash = " stroke-dasharray=\"5,3\""
		}
		fmt.Fprintf(b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"6\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"%s/>\n",
			num(v.left()), num(v.top()), num(v.w), num(v.h), fill, stroke, dash)
	case KindNetwork:
		fmt.Fprintf(b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
			num(v.left()), num(v.top()), num(v.w), num(v.h), num(v.h/2), fill, stroke)
	case KindVolume:
		rx, l, r, t, bot := v.w/2, v.left(), v.right(), v.top(), v.bottom()
		fmt.Fprintf(b, "<path d=\"M%s,%s V%s A%s,%s 0 0 0 %s,%s V%s A%s,%s 0 0 0 %s,%s Z\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
			num(l), num(t+capRY), num(bot-capRY), num(rx), num(capRY), num(r), num(bot-capRY), num(t+capRY), num(rx), num(capRY), num(l), num(t+capRY), fill, stroke)
		fmt.Fprintf(b, "<ellipse cx=\"%s\" cy=\"%s\" rx=\"%s\" ry=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
			num(v.x), num(t+capRY), num(rx), num(capRY), stroke)
		textTop += 2 * capRY
	}
	for k, line := range d.lines(n) {
		if k == 0 {
			fmt.Fprintf(b, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"%s\" font-weight=\"bold\" fill=\"#111111\">%s</text>\n",
				num(v.x), num(textTop+nameLine-5), num(nameSize), esc(line))
			continue
		}
		y := textTop + nameLine + detailLine*float64(k) - 4
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"%s\" fill=\"#333333\">%s</text>\n",
			num(v.x), num(y), num(detailSize), esc(line))
	}
	b.WriteString("</g>\n")
}

// curve is a smooth path through pts: cubic segments that leave and reach
// each point vertically, so arrows end pointing down into their node.
func curve(pts []point) string {
	var s strings.Builder
	fmt.Fprintf(&s, "M%s,%s", num(pts[0].x), num(pts[0].y))
	for k := 1; k < len(pts); k++ {
		p, q := pts[k-1], pts[k]
		my := (p.y + q.y) / 2
		fmt.Fprintf(&s, " C%s,%s %s,%s %s,%s", num(p.x), num(my), num(q.x), num(my), num(q.x), num(q.y))
	}
	return s.String()
}

// num prints a coordinate with at most one decimal.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// esc escapes text for XML content and attributes.
func esc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	return r.Replace(s)
}
