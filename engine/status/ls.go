package status

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// LsOptions are the flags of `compose ls`.
type LsOptions struct {
	All     bool     // -a: projects with stopped containers only, too
	Filters []string // --filter name=REGEXP

	// How PrintLs shows them.
	Quiet  bool   // -q: names only
	Format string // "table" (default) or "json"
}

// ProjectSummary is one line of `compose ls` (Docker Compose's JSON field names).
type ProjectSummary struct {
	Name        string `json:"Name"`
	Status      string `json:"Status"`
	ConfigFiles string `json:"ConfigFiles"`
}

// Ls lists the projects that have containers on this host, by name:
// those with a running container, or all with opts.All.
func (r *Reporter) Ls(ctx context.Context, opts LsOptions) ([]ProjectSummary, error) {
	// Docker's name filter: a project matches a value equal to its name or
	// a regular expression found in it; several values: any of them.
	var names []*regexp.Regexp
	for _, f := range opts.Filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != "name" {
			return nil, fmt.Errorf("--filter %q: unsupported filter (supported: name=VALUE): %w", f, errdefs.ErrInvalidArgument)
		}
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, fmt.Errorf("--filter %q: %w", f, errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
		names = append(names, re)
	}
	recs, err := r.Records.List("")
	if err != nil {
		return nil, err
	}
	projects := r.projects(recs, opts.All)
	if len(names) > 0 {
		projects = slices.DeleteFunc(projects, func(p ProjectSummary) bool {
			return !slices.ContainsFunc(names, func(re *regexp.Regexp) bool {
				return re.String() == p.Name || re.MatchString(p.Name)
			})
		})
	}
	return projects, nil
}

// projects summarises the containers of each project: running ones only
// unless all (then projects without a running container appear too).
func (r *Reporter) projects(recs []*record.Record, all bool) []ProjectSummary {
	type tally struct {
		states map[string]int
		files  []string
	}
	byName := map[string]*tally{}
	for _, rec := range recs {
		st := r.shownState(rec).Status
		if !all && st != supervisor.StatusRunning {
			continue
		}
		t := byName[rec.Project]
		if t == nil {
			t = &tally{states: map[string]int{}}
			byName[rec.Project] = t
		}
		t.states[string(st)]++
		for _, f := range strings.Split(rec.Labels[record.LabelConfigFiles], ",") {
			if f != "" && !slices.Contains(t.files, f) {
				t.files = append(t.files, f)
			}
		}
	}
	var out []ProjectSummary
	for n, t := range byName {
		out = append(out, ProjectSummary{Name: n, Status: combinedStatus(t.states), ConfigFiles: strings.Join(t.files, ",")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// combinedStatus is Compose's "exited(1), running(2)": each state with its count.
func combinedStatus(states map[string]int) string {
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "(" + strconv.Itoa(states[k]) + ")"
	}
	return strings.Join(parts, ", ")
}

// lsLayout is Docker Compose's `ls` table; its "json" is one array.
var lsLayout = Layout{
	Table:     "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}",
	Header:    ProjectSummary{Name: "NAME", Status: "STATUS", ConfigFiles: "CONFIG FILES"},
	JSONArray: true,
	Fixed:     true,
}

// PrintLs prints ls's rows: the names with Quiet, else in opts.Format.
func PrintLs(out io.Writer, rows []ProjectSummary, opts LsOptions) error {
	f, err := ParseFormat(opts.Format, lsLayout)
	if err != nil {
		return err
	}
	if opts.Quiet {
		for _, p := range rows {
			fmt.Fprintln(out, p.Name)
		}
		return nil
	}
	return Write(out, f, rows, nil)
}
