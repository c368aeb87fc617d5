package progress

import (
	"fmt"
	"strings"

	units "github.com/docker/go-units"
)

// barCells is the width of the daemon's progress bar: the width of a
// terminal is unknown to Compose, so the daemon's JSONProgress renders as
// on a 200-column one (50 cells).
const barCells = 50

// Bar is a layer's byte count the way Docker's daemon reports it to
// Compose (jsonmessage.JSONProgress.String, without the time left):
// "[=========>       ]  1.2MB/3.4MB", "   1.2MB" with no total, "" with
// nothing to show.
func Bar(current, total int64) string {
	if current <= 0 && total <= 0 {
		return ""
	}
	if total <= 0 {
		return fmt.Sprintf("%8v", units.HumanSize(float64(current)))
	}
	done := min(int(float64(current)/float64(total)*100)/2, barCells)
	box := "[" + strings.Repeat("=", done) + ">" + strings.Repeat(" ", max(barCells-done, 0)) + "] "
	if current > total { // a wonky count: no total, as the daemon does
		return box + fmt.Sprintf("%8v", units.HumanSize(float64(current)))
	}
	return box + fmt.Sprintf("%8v/%v", units.HumanSize(float64(current)), units.HumanSize(float64(total)))
}
