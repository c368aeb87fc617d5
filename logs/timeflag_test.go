package logs

import (
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
)

// The values `docker compose logs --since/--until` take are those of
// docker/api/types/time.GetTimestamp: durations before now, Unix seconds,
// RFC 3339 dates and their prefixes (local time without a zone). Anything
// else is "failed to parse value as time or duration".
func TestParseTime(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	local := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.Local)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"42m", now.Add(-42 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.5", time.Unix(1700000000, 500000000)},
		{"2013-01-02T13:23:37Z", time.Date(2013, 1, 2, 13, 23, 37, 0, time.UTC)},
		{"2013-01-02T13:23:37+02:00", time.Date(2013, 1, 2, 11, 23, 37, 0, time.UTC)},
		{"2013-01-02T13:23:37.25Z", time.Date(2013, 1, 2, 13, 23, 37, 250000000, time.UTC)},
		{"2013-01-02T13:23:37", local(2013, 1, 2, 13, 23, 37)},
		{"2013-01-02T13:23", local(2013, 1, 2, 13, 23, 0)},
		{"2013-01-02T13", local(2013, 1, 2, 13, 0, 0)},
		{"2013-01-02", local(2013, 1, 2, 0, 0, 0)},
	} {
		got, err := ParseTime(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "2013-13-45", ""} {
		if _, err := ParseTime(bad, now); !errdefs.IsInvalidArgument(err) {
			t.Errorf("ParseTime(%q): %v, want an invalid argument", bad, err)
		}
	}
	_, err := ParseTime("yesterday", now)
	if want := `failed to parse value as time or duration: "yesterday"`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
