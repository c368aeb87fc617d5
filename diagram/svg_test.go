package diagram

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// svgElements are the SVG 1.1 elements the renderer may write.
var svgElements = map[string]bool{
	"svg": true, "title": true, "defs": true, "marker": true, "g": true,
	"path": true, "rect": true, "ellipse": true, "text": true,
}

// numericAttrs must hold a finite number (no NaN, no Inf, no unit).
var numericAttrs = map[string]bool{
	"x": true, "y": true, "width": true, "height": true, "rx": true, "ry": true,
	"cx": true, "cy": true, "refX": true, "refY": true, "markerWidth": true,
	"markerHeight": true, "font-size": true, "stroke-width": true, "fill-opacity": true,
}

// TestSVGWellFormed checks every golden case's SVG is a standalone SVG
// 1.1 document: well-formed XML, the SVG namespace and version, only
// SVG 1.1 elements, numbers where numbers go, unique ids, and references
// that resolve.
func TestSVGWellFormed(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			checkSVG(t, newCase(t, tc.project, tc.services, tc.states).SVG())
		})
	}
}

func checkSVG(t *testing.T, doc []byte) {
	t.Helper()
	if !bytes.HasPrefix(doc, []byte(`<?xml version="1.0" encoding="UTF-8" standalone="no"?>`)) {
		t.Error("no XML declaration")
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	ids, refs := map[string]bool{}, []string{}
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			if _, end := tok.(xml.EndElement); end {
				depth--
			}
			continue
		}
		depth++
		if se.Name.Space != "http://www.w3.org/2000/svg" {
			t.Errorf("<%s> in namespace %q", se.Name.Local, se.Name.Space)
		}
		if !svgElements[se.Name.Local] {
			t.Errorf("element <%s> is not one the renderer should write", se.Name.Local)
		}
		if depth == 1 {
			if se.Name.Local != "svg" {
				t.Fatalf("root is <%s>", se.Name.Local)
			}
			if v := attr(se, "version"); v != "1.1" {
				t.Errorf("version = %q", v)
			}
		}
		for _, a := range se.Attr {
			if numericAttrs[a.Name.Local] {
				f, err := strconv.ParseFloat(a.Value, 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					t.Errorf("<%s %s=%q>: not a number", se.Name.Local, a.Name.Local, a.Value)
				}
			}
			switch a.Name.Local {
			case "id":
				if ids[a.Value] {
					t.Errorf("id %q twice", a.Value)
				}
				ids[a.Value] = true
			case "marker-end":
				refs = append(refs, strings.TrimSuffix(strings.TrimPrefix(a.Value, "url(#"), ")"))
			case "d", "viewBox":
				if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") {
					t.Errorf("<%s %s=%q>", se.Name.Local, a.Name.Local, a.Value)
				}
			}
		}
	}
	for _, r := range refs {
		if !ids[r] {
			t.Errorf("reference to missing #%s", r)
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// TestLayoutInvariants: in every golden case, nothing overlaps in a
// layer, every node fits its text and lies inside the canvas, and every
// edge runs downwards.
func TestLayoutInvariants(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			d := newCase(t, tc.project, tc.services, tc.states)
			checkLayout(t, d, d.layout())
		})
	}
}

func checkLayout(t *testing.T, d *Diagram, L *layout) {
	t.Helper()
	for l, layer := range L.layers {
		for p := 1; p < len(layer); p++ {
			a, b := L.v[layer[p-1]], L.v[layer[p]]
			if a.right()+gap(a, b) > b.left()+1 {
				t.Errorf("layer %d: vertices %d and %d overlap (%v..%v, %v..%v)", l, layer[p-1], layer[p], a.left(), a.right(), b.left(), b.right())
			}
		}
	}
	for i, n := range d.Nodes {
		v := L.v[L.nodeV[i]]
		if v.left() < 0 || v.right() > L.width || v.top() < 0 || v.bottom() > L.height {
			t.Errorf("node %s (%v,%v %vx%v) outside the %vx%v canvas", n.ID, v.x, v.y, v.w, v.h, L.width, L.height)
		}
		for k, s := range d.lines(n) {
			size, bold := detailSize, false
			if k == 0 {
				size, bold = nameSize, true
			}
			if w := textWidth(s, size, bold) + 2*padX; w > v.w {
				t.Errorf("node %s: %q needs %v px, the box is %v", n.ID, s, w, v.w)
			}
		}
	}
	for _, r := range L.routes {
		pts := L.points(r)
		for k := 1; k < len(pts); k++ {
			if pts[k].y <= pts[k-1].y {
				t.Errorf("route %v goes up at point %d: %v", r.chain, k, pts)
			}
		}
	}
}

// TestLayoutUncrosses: names put the arrows of a->d and b->c across each
// other; the sweeps put them side by side.
func TestLayoutUncrosses(t *testing.T) {
	svc := func(name string, deps ...string) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.DependsOn = types.DependsOnConfig{}
		for _, d := range deps {
			s.DependsOn[d] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
		}
		return s
	}
	p := &types.Project{Name: "x", Services: types.Services{
		"a": svc("a", "d"), "b": svc("b", "c"), "c": svc("c"), "d": svc("d"),
	}}
	d, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	L := d.layout()
	if c := L.crossings(); c != 0 {
		t.Errorf("%d crossings left", c)
	}
	checkLayout(t, d, L)
	for _, name := range []string{"react-java-mysql", "nginx-golang-postgres"} {
		if c := newCase(t, name, nil, nil).layout().crossings(); c != 0 {
			t.Errorf("%s: %d crossings", name, c)
		}
	}
}

// TestLayoutEmpty: a project with no service (all in profiles) still
// draws a valid picture.
func TestLayoutEmpty(t *testing.T) {
	d, err := New(&types.Project{Name: "empty"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, d.SVG())
}

func TestTextWidth(t *testing.T) {
	if w := textWidth("iiii", 10, false); w > textWidth("mmmm", 10, false)/2 {
		t.Errorf("narrow letters as wide as wide ones: %v", w)
	}
	if textWidth("db", 14, true) <= textWidth("db", 14, false) {
		t.Error("bold is not wider")
	}
	if w := textWidth("×é", 10, false); w < 12 {
		t.Errorf("non-ASCII width %v: too narrow to be safe", w)
	}
}
