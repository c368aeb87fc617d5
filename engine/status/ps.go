package status

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// PsOptions are the flags of `compose ps`.
type PsOptions struct {
	Services []string
	All      bool     // -a: include stopped containers
	Status   []string // --status: only containers in these states (implies -a)
	Filters  []string // --filter KEY=VALUE (status only, as in Docker Compose)
	// Known lists the services of the compose file (nil when it is not at
	// hand); with Orphans off, containers of other services are left out.
	Known   []string
	Orphans bool

	// How PrintPs shows them.
	Quiet  bool   // -q: IDs only
	Format string // "table" (default), "json" or a Go template ("table " prefix: with a header)
	// ServicesOnly (--services) prints the services of the listed containers.
	ServicesOnly bool
	NoTrunc      bool // --no-trunc: full IDs and commands
}

// Summary is one container as `ps --format json` prints it (Docker Compose's field names).
type Summary struct {
	ID         string          `json:"ID"`
	Name       string          `json:"Name"`
	Names      string          `json:"Names"`
	Image      string          `json:"Image"`
	Command    string          `json:"Command"`
	Project    string          `json:"Project"`
	Service    string          `json:"Service"`
	Created    int64           `json:"Created"`
	CreatedAt  string          `json:"CreatedAt"`
	RunningFor string          `json:"RunningFor"`
	State      string          `json:"State"`
	Status     string          `json:"Status"`
	Health     string          `json:"Health"`
	ExitCode   int             `json:"ExitCode"`
	Labels     string          `json:"Labels"`
	Networks   string          `json:"Networks"`
	Ports      string          `json:"Ports"`
	Publishers []PortPublisher `json:"Publishers"`
}

// PortPublisher is one entry of `ps --format json` Publishers, as Compose prints it.
type PortPublisher struct {
	URL           string `json:"URL"`
	TargetPort    int    `json:"TargetPort"`
	PublishedPort int    `json:"PublishedPort"`
	Protocol      string `json:"Protocol"`
}

// psStatuses are the values `ps --status` accepts (Docker's container states).
var psStatuses = []string{"paused", "restarting", "removing", "running", "dead", "created", "exited"}

// Ps lists the project's containers the way `docker compose ps` selects
// them, ordered by name.
func (r *Reporter) Ps(ctx context.Context, project string, opts PsOptions) ([]Summary, error) {
	statuses, err := psStatusFilter(opts)
	if err != nil {
		return nil, err
	}
	recs, err := r.list(project, opts.Services)
	if err != nil {
		return nil, err
	}
	all := opts.All || len(statuses) > 0
	now := r.now()
	var out []Summary
	for _, rec := range recs {
		st := r.shownState(rec)
		if !all && st.Status != supervisor.StatusRunning && st.Status != statusPaused {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, string(st.Status)) {
			continue
		}
		if opts.Known != nil && !opts.Orphans && !slices.Contains(opts.Known, rec.Service) {
			continue
		}
		out = append(out, summarize(rec, st, now))
	}
	// Compose lists by name (app-10 before app-2, as it does).
	slices.SortStableFunc(out, func(a, b Summary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// psStatusFilter merges --status and --filter status=X, checking each value.
func psStatusFilter(opts PsOptions) ([]string, error) {
	statuses := slices.Clone(opts.Status)
	for _, f := range opts.Filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--filter %q: expected key=value: %w", f, errdefs.ErrInvalidArgument)
		}
		if k != "status" {
			return nil, fmt.Errorf("--filter %q: unsupported filter %q (supported: status): %w", f, k, errdefs.ErrInvalidArgument)
		}
		statuses = append(statuses, v)
	}
	for _, s := range statuses {
		if !slices.Contains(psStatuses, s) {
			return nil, fmt.Errorf("--status %q: must be one of %s: %w", s, strings.Join(psStatuses, "|"), errdefs.ErrInvalidArgument)
		}
	}
	return statuses, nil
}

func summarize(r *record.Record, st supervisor.State, now time.Time) Summary {
	var nets []string
	for _, a := range r.Networks {
		nets = append(nets, a.Network)
	}
	labels := make([]string, 0, len(r.Labels))
	for k, v := range r.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	s := Summary{
		ID: r.ID, Name: r.Name, Names: r.Name, Image: r.Image,
		Command: `"` + strings.Join(r.Command, " ") + `"`, Project: r.Project, Service: r.Service,
		Created: r.Created.Unix(), CreatedAt: r.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(now.Sub(r.Created)) + " ago",
		State:      string(st.Status), Status: statusText(st, now), Health: health(st), ExitCode: st.ExitCode,
		Labels: strings.Join(labels, ","), Networks: strings.Join(nets, ","), Publishers: []PortPublisher{},
	}
	if st.Status == supervisor.StatusRunning || st.Status == statusPaused {
		ports := containerPorts(r)
		s.Ports, s.Publishers = displayPorts(ports), publishers(ports)
	}
	return s
}

// statusText is Docker's human status: "Up 5 seconds", "Exited (0) 2 minutes ago".
func statusText(st supervisor.State, now time.Time) string {
	switch st.Status {
	case supervisor.StatusRunning:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + healthText(st)
	case supervisor.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case statusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case supervisor.StatusExited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	default:
		return "Created"
	}
}

// healthText is Docker's health suffix: " (healthy)", " (health: starting)".
func healthText(st supervisor.State) string {
	switch h := health(st); h {
	case "":
		return ""
	case supervisor.HealthStarting:
		return " (health: starting)"
	default:
		return " (" + h + ")"
	}
}

// health is the health status of a running container with a healthcheck.
func health(st supervisor.State) string {
	if st.Health == nil || st.Status != supervisor.StatusRunning {
		return ""
	}
	return st.Health.Status
}

// psLayout is Docker Compose's `ps` table; a table template's header names
// any of Docker's fields.
var psLayout = Layout{
	Table: "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
	Header: map[string]any{
		"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
		"Project": "PROJECT", "Service": "SERVICE", "Created": "CREATED", "CreatedAt": "CREATED AT",
		"RunningFor": "CREATED", "State": "STATE", "Status": "STATUS", "Health": "HEALTH",
		"ExitCode": "EXIT CODE", "Labels": "LABELS", "Networks": "NETWORKS", "Ports": "PORTS",
		"Publishers": "PUBLISHERS", "LocalVolumes": "LOCAL VOLUMES", "Mounts": "MOUNTS", "Size": "SIZE",
	},
}

// PrintPs prints ps's rows: full IDs with Quiet, the services with
// ServicesOnly, else in opts.Format.
func PrintPs(out io.Writer, rows []Summary, opts PsOptions) error {
	f, err := ParseFormat(opts.Format, psLayout)
	if err != nil {
		return err
	}
	switch {
	case opts.Quiet: // before --services, as in Compose
		for _, s := range rows { // full IDs, as Compose prints them
			fmt.Fprintln(out, s.ID)
		}
		return nil
	case opts.ServicesOnly:
		var seen []string
		for _, s := range rows {
			if !slices.Contains(seen, s.Service) {
				seen = append(seen, s.Service)
			}
		}
		_, err := fmt.Fprintln(out, strings.Join(seen, "\n")) // an empty line when there is none, like Compose
		return err
	}
	return Write(out, f, rows, func(s Summary) any { return s.fields(!opts.NoTrunc) })
}

// fields is what a --format template sees: Docker's fields, with the ID
// and command shortened as the docker CLI shortens them when trunc.
func (s Summary) fields(trunc bool) map[string]any {
	id, cmd := s.ID, s.Command
	if trunc {
		id, cmd = ShortID(id), truncateCommand(cmd)
	}
	return map[string]any{
		"ID": id, "Name": s.Name, "Names": s.Names, "Image": s.Image, "Command": cmd,
		"Project": s.Project, "Service": s.Service, "Created": s.Created, "CreatedAt": s.CreatedAt,
		"RunningFor": s.RunningFor, "State": s.State, "Status": s.Status, "Health": s.Health,
		"ExitCode": s.ExitCode, "Labels": s.Labels, "Networks": s.Networks, "Ports": s.Ports,
		"Publishers": s.Publishers, "LocalVolumes": "0", "Mounts": "", "Size": "0B",
	}
}

// truncateCommand shortens a command to Docker's 20 characters and quotes it
// the way the docker CLI does (newlines escaped).
func truncateCommand(c string) string {
	inner := strings.TrimSuffix(strings.TrimPrefix(c, `"`), `"`)
	if r := []rune(inner); len(r) > 20 {
		inner = string(r[:19]) + "…"
	}
	return strconv.Quote(inner)
}

// ShortID is the 12-character form Docker shows of an ID ("sha256:" dropped).
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
