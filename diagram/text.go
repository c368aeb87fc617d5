package diagram

// The SVG is sized without the font at hand: text widths come from the
// advance widths of DejaVu Sans (the font the SVG asks for first, and
// Debian's default sans-serif), in em. Verdana is about as wide; Arial
// and Helvetica are narrower, so boxes only get roomier with them.
const fontFamily = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"

// asciiWidths are the advances of ' ' to '~'.
var asciiWidths = [95]float64{
	0.318, 0.401, 0.460, 0.838, 0.636, 0.950, 0.780, 0.275, 0.390, 0.390, 0.500, 0.838, 0.318, 0.361, 0.318, 0.337, // ' ' to '/'
	0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, // '0' to '9'
	0.337, 0.337, 0.838, 0.838, 0.838, 0.531, 1.000, // ':' to '@'
	0.684, 0.686, 0.698, 0.770, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863, // 'A' to 'M'
	0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685, // 'N' to 'Z'
	0.390, 0.337, 0.390, 0.838, 0.500, 0.500, // '[' to '`'
	0.613, 0.635, 0.550, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, // 'a' to 'm'
	0.634, 0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525, // 'n' to 'z'
	0.636, 0.337, 0.636, 0.838, // '{' to '~'
}

// boldFactor widens bold text (DejaVu Sans Bold is about 10% wider).
const boldFactor = 1.12

// textWidth estimates the width in px of s at size px.
func textWidth(s string, size float64, bold bool) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r >= ' ' && r <= '~':
			w += asciiWidths[r-' ']
		default:
			w += 0.85 // wider than most letters: safe for the rest
		}
	}
	w *= size
	if bold {
		w *= boldFactor
	}
	return w
}
