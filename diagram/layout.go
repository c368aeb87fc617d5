package diagram

import (
	"math"
	"slices"
)

// The layout of the SVG: a layered drawing in the manner of Sugiyama.
// Services are ranked by dependency depth (what needs nothing at the
// bottom, arrows pointing down, as dot draws them), each network or volume
// sits in the gap just below the lowest service using it, and an edge
// that spans layers bends through a point in each layer between (an
// arrow's first bend carries its label, so labels get room of their own).
// Barycentre sweeps reduce crossings; x positions are pulled towards
// neighbours while keeping the order and the spacing.

// Sizes, in px.
const (
	nameSize   = 14.0 // a node's name, bold
	detailSize = 11.0 // its other lines, the arrows' labels, the legend
	nameLine   = 18.0
	detailLine = 14.0
	padX       = 12.0
	padY       = 8.0
	minNodeW   = 90.0
	capRY      = 6.0 // a volume's cylinder cap
	labelH     = 16.0
	layerGap   = 26.0 // between layers
	nodeGap    = 30.0 // between nodes side by side
	bendGap    = 12.0 // beside an edge passing through a layer
	margin     = 16.0
	titleH     = 30.0
)

type point struct{ x, y float64 }

// vertex is a node, or a bend of an edge, in one layer.
type vertex struct {
	node     int    // index in Diagram.Nodes; -1 for a bend
	label    string // an arrow's label, carried by its first bend
	layer    int
	w, h     float64
	x, y     float64 // centre
	pos      int     // index in its layer
	up, down []int   // neighbours in the layers above and below
}

func (v *vertex) left() float64   { return v.x - v.w/2 }
func (v *vertex) right() float64  { return v.x + v.w/2 }
func (v *vertex) top() float64    { return v.y - v.h/2 }
func (v *vertex) bottom() float64 { return v.y + v.h/2 }

// route is one edge: its vertices from the upper end to the lower.
type route struct {
	chain []int
	arrow bool // a Need: an arrowhead at the lower end
}

type layout struct {
	v      []*vertex
	layers [][]int // vertex indices, in drawing order
	routes []route
	nodeV  []int   // Diagram.Nodes index -> vertex
	width  float64 // of the drawn graph, margins included
	height float64
}

// layout places the picture's nodes and edges.
func (d *Diagram) layout() *layout {
	layerOf := d.ranks()
	nLayers := 0
	for _, l := range layerOf {
		nLayers = max(nLayers, l+1)
	}
	L := &layout{layers: make([][]int, nLayers)}
	id := map[string]int{}
	for i, n := range d.Nodes {
		w, h := d.nodeSize(n)
		id[n.ID] = L.add(&vertex{node: i, layer: layerOf[n.ID], w: w, h: h})
		L.nodeV = append(L.nodeV, id[n.ID])
	}
	for _, e := range d.Needs {
		L.connect(id[e.From], id[e.To], e.Label(), true)
	}
	for _, u := range d.Uses {
		L.connect(id[u.Service], id[u.Resource], "", false)
	}
	L.order()
	L.place()
	return L
}

// ranks gives each node its layer: services at twice their row (row 0 at
// the top: the deepest dependents), resources in the odd layer below the
// lowest service using them.
func (d *Diagram) ranks() map[string]int {
	needs := map[string][]string{}
	for _, e := range d.Needs {
		needs[e.From] = append(needs[e.From], e.To)
	}
	depth := map[string]int{}
	var depthOf func(id string) int
	depthOf = func(id string) int {
		if v, ok := depth[id]; ok {
			return v
		}
		depth[id] = 0 // graph.New refuses cycles; this only ends the recursion
		dd := 0
		for _, to := range needs[id] {
			dd = max(dd, depthOf(to)+1)
		}
		depth[id] = dd
		return dd
	}
	maxDepth := 0
	for _, n := range d.Nodes {
		if n.Kind == KindService {
			maxDepth = max(maxDepth, depthOf(n.ID))
		}
	}
	layer := map[string]int{}
	for _, n := range d.Nodes {
		if n.Kind == KindService {
			layer[n.ID] = 2 * (maxDepth - depth[n.ID])
		}
	}
	for _, n := range d.Nodes {
		if n.Kind == KindService {
			continue
		}
		l := -1
		for _, u := range d.Uses {
			if u.Resource == n.ID {
				l = max(l, layer[u.Service]+1)
			}
		}
		if l < 0 { // used by none: at the bottom
			l = 2*maxDepth + 1
		}
		layer[n.ID] = l
	}
	return layer
}

// nodeSize is the box a node's text needs.
func (d *Diagram) nodeSize(n Node) (w, h float64) {
	lines := d.lines(n)
	for i, s := range lines {
		if i == 0 {
			w = max(w, textWidth(s, nameSize, true))
		} else {
			w = max(w, textWidth(s, detailSize, false))
		}
	}
	h = nameLine + detailLine*float64(len(lines)-1) + 2*padY
	w = max(w+2*padX, minNodeW)
	switch n.Kind {
	case KindNetwork:
		w += h / 2 // the pill's round ends
	case KindVolume:
		h += 2 * capRY
	}
	return math.Ceil(w), math.Ceil(h)
}

func (L *layout) add(v *vertex) int {
	L.v = append(L.v, v)
	i := len(L.v) - 1
	v.pos = len(L.layers[v.layer])
	L.layers[v.layer] = append(L.layers[v.layer], i)
	return i
}

// connect adds the edge from vertex a down to vertex b, with a bend in
// each layer between.
func (L *layout) connect(a, b int, label string, arrow bool) {
	r := route{chain: []int{a}, arrow: arrow}
	prev := a
	for l := L.v[a].layer + 1; l < L.v[b].layer; l++ {
		bend := &vertex{node: -1, layer: l}
		if label != "" && l == L.v[a].layer+1 {
			bend.label = label
			bend.w, bend.h = math.Ceil(textWidth(label, detailSize, false)+8), labelH
		}
		cur := L.add(bend)
		L.link(prev, cur)
		r.chain = append(r.chain, cur)
		prev = cur
	}
	L.link(prev, b)
	r.chain = append(r.chain, b)
	L.routes = append(L.routes, r)
}

func (L *layout) link(upper, lower int) {
	L.v[upper].down = append(L.v[upper].down, lower)
	L.v[lower].up = append(L.v[lower].up, upper)
}

// order reduces crossings: vertices of each layer sorted by the mean
// position of their neighbours in the layer before, sweeping down then
// up, keeping the best order seen.
func (L *layout) order() {
	best, bestC := L.snapshot(), L.crossings()
	for it := 0; it < 12 && bestC > 0; it++ {
		for l := 1; l < len(L.layers); l++ {
			L.sortLayer(l, func(v *vertex) []int { return v.up })
		}
		for l := len(L.layers) - 2; l >= 0; l-- {
			L.sortLayer(l, func(v *vertex) []int { return v.down })
		}
		if c := L.crossings(); c < bestC {
			best, bestC = L.snapshot(), c
		}
	}
	for l, layer := range best {
		L.layers[l] = layer
		for p, i := range layer {
			L.v[i].pos = p
		}
	}
}

func (L *layout) snapshot() [][]int {
	out := make([][]int, len(L.layers))
	for l, layer := range L.layers {
		out[l] = slices.Clone(layer)
	}
	return out
}

// sortLayer orders layer l by the barycentre of each vertex's neighbours
// (those nbrs gives); one without neighbours keeps its place.
func (L *layout) sortLayer(l int, nbrs func(*vertex) []int) {
	layer := L.layers[l]
	bary := make(map[int]float64, len(layer))
	for _, i := range layer {
		ns := nbrs(L.v[i])
		if len(ns) == 0 {
			bary[i] = float64(L.v[i].pos)
			continue
		}
		sum := 0.0
		for _, n := range ns {
			sum += float64(L.v[n].pos)
		}
		bary[i] = sum / float64(len(ns))
	}
	slices.SortStableFunc(layer, func(a, b int) int {
		switch {
		case bary[a] < bary[b]:
			return -1
		case bary[a] > bary[b]:
			return 1
		}
		return 0
	})
	for p, i := range layer {
		L.v[i].pos = p
	}
}

// crossings counts the pairs of edges that cross between adjacent layers.
func (L *layout) crossings() int {
	n := 0
	for _, layer := range L.layers {
		var edges [][2]int
		for _, i := range layer {
			for _, j := range L.v[i].down {
				edges = append(edges, [2]int{L.v[i].pos, L.v[j].pos})
			}
		}
		for a := range edges {
			for b := a + 1; b < len(edges); b++ {
				if (edges[a][0]-edges[b][0])*(edges[a][1]-edges[b][1]) < 0 {
					n++
				}
			}
		}
	}
	return n
}

// gap is the space kept between two vertices side by side.
func gap(a, b *vertex) float64 {
	if a.node >= 0 && b.node >= 0 {
		return nodeGap
	}
	return bendGap
}

// place gives every vertex its centre: layers stacked from the top, and
// in each layer x pulled towards the neighbours' mean, in order, spaced.
func (L *layout) place() {
	y := margin + titleH
	for _, layer := range L.layers {
		if len(layer) == 0 {
			continue
		}
		h := 0.0
		for _, i := range layer {
			h = max(h, L.v[i].h)
		}
		for _, i := range layer {
			L.v[i].y = y + h/2
		}
		y += h + layerGap
	}
	L.height = y - layerGap + margin

	for _, layer := range L.layers { // packed, centred on 0
		x := 0.0
		for p, i := range layer {
			if p > 0 {
				x += L.v[layer[p-1]].w/2 + gap(L.v[layer[p-1]], L.v[i]) + L.v[i].w/2
			}
			L.v[i].x = x
		}
		for _, i := range layer {
			L.v[i].x -= x / 2
		}
	}
	for it := 0; it < 10; it++ {
		for l := 1; l < len(L.layers); l++ {
			L.pull(l, func(v *vertex) []int { return v.up })
		}
		for l := len(L.layers) - 2; l >= 0; l-- {
			L.pull(l, func(v *vertex) []int { return v.down })
		}
	}

	minX, maxX := math.Inf(1), math.Inf(-1)
	for _, v := range L.v {
		minX, maxX = min(minX, v.left()), max(maxX, v.right())
	}
	if len(L.v) == 0 {
		minX, maxX = 0, 0
	}
	for _, v := range L.v {
		v.x = math.Round(v.x - minX + margin)
		v.y = math.Round(v.y)
	}
	L.width = maxX - minX + 2*margin
}

// pull moves the vertices of layer l towards the mean x of their
// neighbours (nbrs), keeping their order and gaps: the mean of the
// leftmost and the rightmost placement that honour the gaps, both
// feasible, is feasible.
func (L *layout) pull(l int, nbrs func(*vertex) []int) {
	layer := L.layers[l]
	if len(layer) == 0 {
		return
	}
	want := make([]float64, len(layer))
	for p, i := range layer {
		v := L.v[i]
		want[p] = v.x
		if ns := nbrs(v); len(ns) > 0 {
			sum := 0.0
			for _, n := range ns {
				sum += L.v[n].x
			}
			want[p] = sum / float64(len(ns))
		}
	}
	left := slices.Clone(want)
	for p := 1; p < len(layer); p++ {
		a, b := L.v[layer[p-1]], L.v[layer[p]]
		left[p] = max(left[p], left[p-1]+a.w/2+gap(a, b)+b.w/2)
	}
	right := slices.Clone(want)
	for p := len(layer) - 2; p >= 0; p-- {
		a, b := L.v[layer[p]], L.v[layer[p+1]]
		right[p] = min(right[p], right[p+1]-a.w/2-gap(a, b)-b.w/2)
	}
	for p, i := range layer {
		L.v[i].x = (left[p] + right[p]) / 2
	}
}

// points is the polyline of a route: from the bottom of the upper node,
// through its bends, to the top of the lower node.
func (L *layout) points(r route) []point {
	pts := make([]point, len(r.chain))
	for k, i := range r.chain {
		pts[k] = point{L.v[i].x, L.v[i].y}
	}
	first, last := L.v[r.chain[0]], L.v[r.chain[len(r.chain)-1]]
	pts[0] = point{port(first, pts[1].x), first.bottom()}
	pts[len(pts)-1] = point{port(last, pts[len(pts)-2].x), last.top()}
	return pts
}

// port is where an edge heading for x leaves or enters v: as near x as
// v's straight edge allows.
func port(v *vertex, x float64) float64 {
	inset := min(12, v.w/4)
	return math.Round(min(max(x, v.left()+inset), v.right()-inset))
}
