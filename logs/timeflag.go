package logs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/composer-dev/compose/errdefs"
)

// ParseTime reads a --since or --until value the way the Docker client
// does (docker/api/types/time.GetTimestamp): a duration before now
// ("42m"), a Unix time in seconds ("1700000000.5"), or an RFC 3339 date
// or a prefix of one ("2013-01-02T13:23:37Z", "2013-01-02T13:23",
// "2013-01-02"); without a zone it is local time.
func ParseTime(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	t, err := parseDate(value)
	if err == nil {
		return t, nil
	}
	if !strings.Contains(value, "-") {
		if t, ok := parseUnix(value); ok {
			return t, nil
		}
		err = fmt.Errorf("failed to parse value as time or duration: %q", value)
	}
	return time.Time{}, errdefs.Mark(errdefs.ErrInvalidArgument, err)
}

// parseDate picks the layout from what the value holds: fractional
// seconds, how many parts of the time, a zone or not.
func parseDate(value string) (time.Time, error) {
	zoned := strings.ContainsAny(value, "zZ+") || strings.Count(value, "-") == 3
	var layout string
	switch {
	case strings.Contains(value, "."):
		layout = "2006-01-02T15:04:05.999999999"
	case strings.Contains(value, "T"):
		colons := strings.Count(value, ":")
		if zoned && !strings.ContainsAny(value, "zZ") && colons > 0 {
			colons-- // the one of the zone offset
		}
		layout = [...]string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}[min(colons, 2)]
	default:
		layout = "2006-01-02"
	}
	if zoned {
		return time.Parse(layout+"Z07:00", value)
	}
	return time.ParseInLocation(layout, value, time.Local)
}

// parseUnix reads seconds since the epoch, with an optional fraction.
func parseUnix(value string) (time.Time, bool) {
	secs, frac, _ := strings.Cut(value, ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var ns int64
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return time.Time{}, false
		}
		ns = int64(math.Round(f * 1e9))
	}
	return time.Unix(s, ns), true
}
