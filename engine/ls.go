package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// LsOptions are the flags of `compose ls`.
type LsOptions struct {
	All     bool     // -a: projects with stopped containers only, too
	Quiet   bool     // -q: names only
	Format  string   // "table" (default) or "json"
	Filters []string // --filter name=REGEXP
}

// ProjectSummary is one line of `compose ls` (Docker Compose's JSON field names).
type ProjectSummary struct {
	Name        string `json:"Name"`
	Status      string `json:"Status"`
	ConfigFiles string `json:"ConfigFiles"`
}

// Ls prints the projects that have containers on this host, like `docker compose ls`.
func (e *Engine) Ls(ctx context.Context, opts LsOptions, out io.Writer) error {
	// Docker's name filter: a project matches a value equal to its name or
	// a regular expression found in it; several values: any of them.
	var names []*regexp.Regexp
	for _, f := range opts.Filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != "name" {
			return fmt.Errorf("--filter %q: unsupported filter (supported: name=VALUE): %w", f, errdefs.ErrInvalidArgument)
		}
		re, err := regexp.Compile(v)
		if err != nil {
			return fmt.Errorf("--filter %q: %w", f, errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
		names = append(names, re)
	}
	if opts.Format != "" && opts.Format != "table" && opts.Format != "json" {
		return fmt.Errorf("--format %q: use table or json: %w", opts.Format, errdefs.ErrInvalidArgument)
	}
	projects, err := e.projects(opts.All)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		projects = slices.DeleteFunc(projects, func(p ProjectSummary) bool {
			return !slices.ContainsFunc(names, func(re *regexp.Regexp) bool {
				return re.String() == p.Name || re.MatchString(p.Name)
			})
		})
	}
	switch {
	case opts.Quiet:
		for _, p := range projects {
			fmt.Fprintln(out, p.Name)
		}
		return nil
	case opts.Format == "json":
		if projects == nil {
			projects = []ProjectSummary{}
		}
		// One array, as Compose prints `ls --format json`.
		return json.NewEncoder(out).Encode(projects)
	}
	f, err := parseRowFormat("table", "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}",
		ProjectSummary{Name: "NAME", Status: "STATUS", ConfigFiles: "CONFIG FILES"})
	if err != nil {
		return err
	}
	rows := make([]any, len(projects))
	for i, p := range projects {
		rows[i] = p
	}
	return f.write(out, rows, nil)
}

// projects summarises the containers of each project: running ones only
// unless all (then projects without a running container appear too).
func (e *Engine) projects(all bool) ([]ProjectSummary, error) {
	recs, err := e.containers("")
	if err != nil {
		return nil, err
	}
	type tally struct {
		states map[string]int
		files  []string
	}
	byName := map[string]*tally{}
	for _, r := range recs {
		st := e.stateOf(r).Status
		if !all && st != container.StatusRunning {
			continue
		}
		t := byName[r.Project]
		if t == nil {
			t = &tally{states: map[string]int{}}
			byName[r.Project] = t
		}
		t.states[string(st)]++
		for _, f := range strings.Split(r.Labels[record.LabelConfigFiles], ",") {
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
	return out, nil
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
