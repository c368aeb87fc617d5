package engine

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
)

// PsOptions are the flags of `compose ps`.
type PsOptions struct {
	Services []string
	All      bool   // -a: include stopped containers
	Quiet    bool   // -q: IDs only
	Format   string // "table" (default), "json" or a Go template ("table " prefix: with a header)
	// ServicesOnly (--services) prints the services of the listed containers.
	ServicesOnly bool
	Status       []string // --status: only containers in these states (implies -a)
	Filters      []string // --filter KEY=VALUE (status only, as in Docker Compose)
	NoTrunc      bool     // --no-trunc: full IDs and commands
	// Known lists the services of the compose file (nil when it is not at
	// hand); with Orphans off, containers of other services are left out.
	Known   []string
	Orphans bool
}

// Summary is one container as `ps --format json` prints it (Docker Compose's field names).
type Summary struct {
	ID         string            `json:"ID"`
	Name       string            `json:"Name"`
	Names      string            `json:"Names"`
	Image      string            `json:"Image"`
	Command    string            `json:"Command"`
	Project    string            `json:"Project"`
	Service    string            `json:"Service"`
	Created    int64             `json:"Created"`
	CreatedAt  string            `json:"CreatedAt"`
	RunningFor string            `json:"RunningFor"`
	State      string            `json:"State"`
	Status     string            `json:"Status"`
	Health     string            `json:"Health"`
	ExitCode   int               `json:"ExitCode"`
	Labels     string            `json:"Labels"`
	Networks   string            `json:"Networks"`
	Ports      string            `json:"Ports"`
	Publishers []any             `json:"Publishers"`
	labels     map[string]string `json:"-"`
}

// List returns the project's containers; running ones only unless all.
func (e *Engine) List(ctx context.Context, projectName string, services []string, all bool) ([]Summary, error) {
	recs, err := e.containers(projectName)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, s := range services {
		wanted[s] = true
	}
	now := time.Now()
	var out []Summary
	for _, r := range recs {
		if len(wanted) > 0 && !wanted[r.Service] {
			continue
		}
		st := e.stateOf(r)
		if !all && st.Status != container.StatusRunning && st.Status != container.StatusPaused {
			continue
		}
		out = append(out, summarize(r, st, now))
	}
	return out, nil
}

func summarize(r *record.Record, st container.State, now time.Time) Summary {
	var nets []string
	for _, a := range r.Networks {
		nets = append(nets, a.Network)
	}
	var labels []string
	for k, v := range r.Labels {
		labels = append(labels, k+"="+v)
	}
	s := Summary{
		ID: r.ID, Name: r.Name, Names: r.Name, Image: r.Image,
		Command: quoteCommand(r.Command), Project: r.Project, Service: r.Service,
		Created: r.Created.Unix(), CreatedAt: r.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(now.Sub(r.Created)) + " ago",
		State:      string(st.Status), Status: statusText(st, now), Health: health(st), ExitCode: st.ExitCode,
		Labels: strings.Join(labels, ","), Networks: strings.Join(nets, ","), Publishers: []any{},
		labels: r.Labels,
	}
	if st.Status == container.StatusRunning || st.Status == container.StatusPaused {
		var ports []string
		for _, m := range r.Ports {
			ip := m.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			ports = append(ports, portText(m))
			s.Publishers = append(s.Publishers, PortPublisher{URL: ip, TargetPort: int(m.ContainerPort), PublishedPort: int(m.HostPort), Protocol: m.Protocol})
		}
		s.Ports = strings.Join(ports, ", ")
	}
	return s
}

func quoteCommand(args []string) string {
	return `"` + strings.Join(args, " ") + `"`
}

// statusText is Docker's human status: "Up 5 seconds", "Exited (0) 2 minutes ago".
func statusText(st container.State, now time.Time) string {
	switch st.Status {
	case "running":
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + healthText(st)
	case container.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case container.StatusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case "exited":
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	default:
		return "Created"
	}
}

// healthText is Docker's health suffix: " (healthy)", " (health: starting)".
func healthText(st container.State) string {
	switch h := health(st); h {
	case "":
		return ""
	case "starting":
		return " (health: starting)"
	default:
		return " (" + h + ")"
	}
}

// health is the health status of a running container with a healthcheck.
func health(st container.State) string {
	if st.Health == nil || st.Status != container.StatusRunning {
		return ""
	}
	return st.Health.Status
}

// psTable is Docker Compose's default `ps` table.
const psTable = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"

// psHeader names the columns of a `ps --format "table ..."` template.
var psHeader = map[string]any{
	"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
	"Project": "PROJECT", "Service": "SERVICE", "Created": "CREATED", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "State": "STATE", "Status": "STATUS", "Health": "HEALTH",
	"ExitCode": "EXIT CODE", "Labels": "LABELS", "Networks": "NETWORKS", "Ports": "PORTS",
	"Publishers": "PUBLISHERS", "LocalVolumes": "LOCAL VOLUMES", "Mounts": "MOUNTS", "Size": "SIZE",
}

// psStatuses are the values `ps --status` accepts (Docker's container states).
var psStatuses = []string{"paused", "restarting", "removing", "running", "dead", "created", "exited"}

// Ps prints the project's containers like `docker compose ps`.
func (e *Engine) Ps(ctx context.Context, projectName string, opts PsOptions, out io.Writer) error {
	statuses, err := psStatusFilter(opts)
	if err != nil {
		return err
	}
	f, err := parseRowFormat(opts.Format, psTable, psHeader)
	if err != nil {
		return err
	}
	list, err := e.List(ctx, projectName, opts.Services, opts.All || len(statuses) > 0)
	if err != nil {
		return err
	}
	list = slices.DeleteFunc(list, func(s Summary) bool {
		if len(statuses) > 0 && !slices.Contains(statuses, s.State) {
			return true
		}
		return opts.Known != nil && !opts.Orphans && !slices.Contains(opts.Known, s.Service)
	})
	// Compose lists by name (app-10 before app-2, as it does).
	slices.SortStableFunc(list, func(a, b Summary) int { return strings.Compare(a.Name, b.Name) })
	switch {
	case opts.Quiet: // before --services, as in Compose
		for _, s := range list { // full IDs, as Compose prints them
			fmt.Fprintln(out, s.ID)
		}
		return nil
	case opts.ServicesOnly:
		var seen []string
		for _, s := range list {
			if !slices.Contains(seen, s.Service) {
				seen = append(seen, s.Service)
			}
		}
		fmt.Fprintln(out, strings.Join(seen, "\n")) // an empty line when there is none, like Compose
		return nil
	}
	rows := make([]any, len(list))
	jsonRows := make([]any, len(list))
	for i, s := range list {
		jsonRows[i] = s
		rows[i] = s.templateRow(!opts.NoTrunc)
	}
	return f.write(out, rows, jsonRows)
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

// templateRow is what a --format template sees: Docker's fields, with the
// ID and command shortened as the docker CLI shortens them unless trunc is off.
func (s Summary) templateRow(trunc bool) map[string]any {
	id, cmd := s.ID, s.Command
	if trunc {
		id, cmd = shortID(id), truncateCommand(cmd)
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
