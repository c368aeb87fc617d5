package status

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/errdefs"
)

func TestLs(t *testing.T) {
	r, _ := fixture()
	var all strings.Builder
	for _, tt := range []struct {
		flags string
		opts  LsOptions
	}{
		{"", LsOptions{}},
		{"-a", LsOptions{All: true}},
		{"-a --format json", LsOptions{All: true, Format: "json"}},
		{"-a -q", LsOptions{All: true, Quiet: true}},
		{"-a --filter name=q", LsOptions{All: true, Filters: []string{"name=q"}}},
		{"-a --filter name=^p$ --filter name=nomatch", LsOptions{All: true, Filters: []string{"name=^p$", "name=nomatch"}}},
		{"--filter name=nomatch --format json", LsOptions{Filters: []string{"name=nomatch"}, Format: "json"}},
	} {
		rows, err := r.Ls(t.Context(), tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.flags, err)
		}
		var out bytes.Buffer
		if err := PrintLs(&out, rows, tt.opts); err != nil {
			t.Fatalf("%s: %v", tt.flags, err)
		}
		all.WriteString("== ls " + tt.flags + "\n" + out.String())
	}
	golden(t, "ls", all.String())

	for _, f := range []string{"status=running", "name=(", "name"} {
		if _, err := r.Ls(t.Context(), LsOptions{Filters: []string{f}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ls --filter %s: %v", f, err)
		}
	}
	if err := PrintLs(&bytes.Buffer{}, nil, LsOptions{Format: "{{.Name}}"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ls --format TEMPLATE: %v", err)
	}
}

func TestCombinedStatus(t *testing.T) {
	if got := combinedStatus(map[string]int{"running": 2, "exited": 1}); got != "exited(1), running(2)" {
		t.Errorf("combinedStatus = %q", got)
	}
}

// fakeImages stores the images of a1 and e1.
type fakeImages struct{}

func (fakeImages) Name(ref string) (string, string) {
	repo, tag, ok := strings.Cut(ref, ":")
	if !ok {
		tag = "latest"
	}
	return repo, tag
}

func (fakeImages) Image(id string) (ImageInfo, error) {
	switch {
	case strings.HasPrefix(id, "sha256:a1"):
		return ImageInfo{Size: 2_150_000, Created: now.Add(-3 * 24 * time.Hour), Platform: ImagePlatform{OS: "linux", Architecture: "amd64"}}, nil
	case strings.HasPrefix(id, "sha256:b1"):
		return ImageInfo{Size: 456_000_000, Created: now.Add(-2 * time.Hour), Platform: ImagePlatform{OS: "linux", Architecture: "arm", Variant: "v7"}}, nil
	}
	return ImageInfo{}, fmt.Errorf("image %s: %w", id, errdefs.ErrNotFound)
}

func TestImages(t *testing.T) {
	r, _ := fixture()
	r.Images = fakeImages{}
	var all strings.Builder
	for _, tt := range []struct {
		flags string
		opts  ImagesOptions
	}{
		{"", ImagesOptions{}},
		{"--format json", ImagesOptions{Format: "json"}},
		{"-q", ImagesOptions{Quiet: true}},
		{"-q web", ImagesOptions{Quiet: true, Services: []string{"web"}}},
	} {
		rows, err := r.ProjectImages(t.Context(), "p", tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.flags, err)
		}
		var out bytes.Buffer
		if err := PrintImages(&out, rows, tt.opts); err != nil {
			t.Fatalf("%s: %v", tt.flags, err)
		}
		all.WriteString("== images " + tt.flags + "\n" + out.String())
	}
	golden(t, "images", all.String())

	var out bytes.Buffer
	if err := PrintImages(&out, nil, ImagesOptions{Format: "json"}); err != nil || out.String() != "[]\n" {
		t.Errorf("images --format json of none: %q, %v", out.String(), err)
	}
	if err := PrintImages(&out, nil, ImagesOptions{Format: "{{.ID}}"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("images --format TEMPLATE: %v", err)
	}
}

func TestTop(t *testing.T) {
	r, rt := fixture()
	web1, api := r.byName(t, "p-web-1"), r.byName(t, "q-api-1")
	rt.procs = map[string][]Process{
		web1.Dir: {
			{PID: 100, PPID: 90, UID: 0, TTY: 136<<8 | 3, Start: now.Add(-90 * time.Second), CPUTime: 45 * time.Second, Cmd: []string{"sh", "-c", "sleep 600"}},
			{PID: 101, PPID: 100, UID: 0, Start: now.Add(-40 * 24 * time.Hour), CPUTime: 26*time.Hour + 3723*time.Second, Comm: "kworker"},
		},
		// web-2 stopped between the listing and the read: left out.
		api.Dir: {{PID: 300, PPID: 290, UID: 0, Start: now.AddDate(-1, 0, 0), Cmd: []string{"/bin/api"}}},
	}
	rows, err := r.Top(t.Context(), "p", TopOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := PrintTop(&out, rows); err != nil {
		t.Fatal(err)
	}
	golden(t, "top", out.String())
	if rows, err := r.Top(t.Context(), "p", TopOptions{Services: []string{"db"}}); err != nil || len(rows) != 0 {
		t.Errorf("top of an exited service: %+v, %v", rows, err)
	}
}

func TestTopColumns(t *testing.T) {
	if got := ttyName(136<<8 | 3); got != "pts/3" {
		t.Errorf("ttyName(pts 3) = %q", got)
	}
	if got := ttyName(4<<8 | 1); got != "tty1" {
		t.Errorf("ttyName(tty1) = %q", got)
	}
	if got := ttyName(0); got != "?" {
		t.Errorf("ttyName(0) = %q", got)
	}
	if got := cpuTime(3723 * time.Second); got != "01:02:03" {
		t.Errorf("cpuTime = %q", got)
	}
	if got := cpuTime(26*time.Hour + 5*time.Second); got != "1-02:00:05" {
		t.Errorf("cpuTime of a day = %q", got)
	}
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.Local)
	if got := stime(now.Add(-time.Hour), now); got != "11:00" {
		t.Errorf("stime today = %q", got)
	}
	if got := stime(now.AddDate(0, -1, 0), now); got != "Feb04" {
		t.Errorf("stime earlier = %q", got)
	}
	if got := stime(now.AddDate(-1, 0, 0), now); got != "2024" {
		t.Errorf("stime last year = %q", got)
	}
}

func TestStatsRow(t *testing.T) {
	r, _ := fixture()
	rec := r.byName(t, "p-web-1")
	prev := Sample{Read: now, CPUTime: 0}
	cur := Sample{Read: now.Add(time.Second), CPUTime: 500 * time.Millisecond, MemoryUsage: 1 << 20, MemoryLimit: 4 << 20, NetRx: 1500, Pids: 3}
	got := statsRow(rec, prev, cur, 1<<30)
	if got.CPUPerc != "50.00%" || got.MemUsage != "1MiB / 4MiB" || got.MemPerc != "25.00%" || got.PIDs != "3" || got.ID != rec.ID[:12] || got.NetIO != "1.5kB / 0B" {
		t.Errorf("statsRow = %+v", got)
	}
	// No limit (or one above the host's memory): the host's memory is the limit.
	cur.MemoryLimit = 0
	if got := statsRow(rec, Sample{}, cur, 8<<20); got.CPUPerc != "0.00%" || got.MemUsage != "1MiB / 8MiB" || got.MemPerc != "12.50%" {
		t.Errorf("statsRow without a limit or a previous sample = %+v", got)
	}
}

func TestStats(t *testing.T) {
	r, rt := fixture()
	web1, api := r.byName(t, "p-web-1"), r.byName(t, "q-api-1")
	rt.stats = map[string]Sample{
		web1.Dir: {Read: now, CPUTime: time.Second, MemoryUsage: 3 << 20, MemoryLimit: 64 << 20, NetRx: 1234, NetTx: 56789, BlockRead: 4096, BlockWrite: 1 << 20, Pids: 2},
		api.Dir:  {Read: now, MemoryUsage: 1 << 20, MemoryLimit: 1 << 20, Pids: 1},
	}
	// Streaming, the first sample is shown at once (CPU 0%); only running
	// containers of the project have one.
	var rows []StatsRow
	for got, err := range r.Stats(t.Context(), "p", StatsOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		rows = got
		break
	}
	if len(rows) != 1 || rows[0].Name != "p-web-1" {
		t.Fatalf("stats rows: %+v", rows)
	}
	var all strings.Builder
	for _, opts := range []StatsOptions{
		{NoStream: true},
		{NoStream: true, Format: "json"},
		{NoStream: true, Format: `table {{.Container}}\t{{.Name | upper}}\t{{.MemPerc}}`},
		{NoStream: true, Format: `{{.Name}} {{.PIDs}}`},
		{Format: `{{.Name}} {{.CPUPerc}}`},
	} {
		var out bytes.Buffer
		if err := PrintStats(&out, sequence(rows, rows), opts); err != nil {
			t.Fatal(err)
		}
		all.WriteString(fmt.Sprintf("== stats --no-stream=%v --format %s\n%s", opts.NoStream, opts.Format, strings.ReplaceAll(out.String(), clearScreen, "<clear>")))
	}
	golden(t, "stats", all.String())

	boom := errors.New("boom")
	failing := func(yield func([]StatsRow, error) bool) { yield(nil, boom) }
	if err := PrintStats(&bytes.Buffer{}, failing, StatsOptions{}); !errors.Is(err, boom) {
		t.Errorf("PrintStats of a failing sample: %v", err)
	}
	if err := PrintStats(&bytes.Buffer{}, sequence(rows), StatsOptions{Format: "{{.Nope"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("stats --format with a bad template: %v", err)
	}
}

// sequence yields each of samples.
func sequence(samples ...[]StatsRow) iter.Seq2[[]StatsRow, error] {
	return func(yield func([]StatsRow, error) bool) {
		for _, s := range samples {
			if !yield(s, nil) {
				return
			}
		}
	}
}
