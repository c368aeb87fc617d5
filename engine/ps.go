package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/container"
)

// PsOptions are the flags of `compose ps`.
type PsOptions struct {
	Services []string
	All      bool   // -a: include stopped containers
	Quiet    bool   // -q: IDs only
	Format   string // "table" (default) or "json"
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

func summarize(r *Record, st container.State, now time.Time) Summary {
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

// Ps prints the project's containers like `docker compose ps`.
func (e *Engine) Ps(ctx context.Context, projectName string, opts PsOptions, out io.Writer) error {
	list, err := e.List(ctx, projectName, opts.Services, opts.All)
	if err != nil {
		return err
	}
	switch {
	case opts.Quiet:
		for _, s := range list {
			fmt.Fprintln(out, s.ID)
		}
		return nil
	case opts.Format == "json":
		enc := json.NewEncoder(out)
		for _, s := range list { // one object per line, as Compose prints it
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	case opts.Format == "" || opts.Format == "table":
		tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Image, truncateCommand(s.Command), s.Service, s.RunningFor, s.Status, s.Ports)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("--format %q: use table or json", opts.Format)
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
