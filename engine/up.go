package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/engine/specgen"
	"github.com/composer-dev/compose/errdefs"
)

// defaultStopTimeout is Docker's grace period between SIGTERM and SIGKILL.
const defaultStopTimeout = 10 * time.Second

// UpOptions are the flags of `compose up`.
type UpOptions struct {
	Services   []string // empty = all services
	Detach     bool
	Timeout    *time.Duration // stop grace period when interrupted
	Pull       string         // --pull: "policy" (default: each service's pull_policy), "always", "missing", "never"
	Build      BuildPolicy    // --build / --no-build
	QuietBuild bool           // --quiet-build: no build output
	QuietPull  bool           // --quiet-pull: no pull progress
	// AssumeYes (-y) answers yes to up's questions: a volume whose
	// configuration changed is recreated.
	AssumeYes   bool
	NoColor     bool
	NoLogPrefix bool
	Timestamps  bool
	Out         io.Writer // attached log output
	Err         io.Writer // the containers' stderr lines in attached output (Compose: formatter/logs.go, Err)
	// Interrupts delivers Ctrl-C while attached: the first stops the
	// containers gracefully, the second kills them.
	Interrupts <-chan os.Signal
	UpAttach                   // --wait, --abort-on-container-exit, --attach...: upattach.go
	Converge   ConvergeOptions // how existing containers are brought in line (converge.go)
}

// serviceNetworks lists the network keys a service joins, by priority then name.
func serviceNetworks(svc types.ServiceConfig) []string {
	if svc.NetworkMode != "" { // host, none, service:x, container:x
		return nil
	}
	if len(svc.Networks) == 0 {
		return []string{"default"}
	}
	keys := make([]string, 0, len(svc.Networks))
	for k := range svc.Networks {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := priority(svc, keys[i]), priority(svc, keys[j])
		if pi != pj {
			return pi > pj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func priority(svc types.ServiceConfig, key string) int {
	if c := svc.Networks[key]; c != nil {
		return c.Priority
	}
	return 0
}

// Up creates and starts the project's networks and containers, in dependency
// order, then (unless Detach) streams their logs until they exit or Ctrl-C.
func (e *Engine) Up(ctx context.Context, p *types.Project, opts UpOptions) error {
	opts.since = time.Now() // attached output starts here (upattach.go)
	pl, err := e.upPlan(p, opts.Services, opts.Converge)
	if err != nil {
		return err
	}
	if err := checkUpAttach(pl, opts); err != nil {
		return err
	}
	if opts.Watch {
		opts.rules, err = watchRules(pl.project, opts.Services, "none of the selected services is configured for watch, see https://docs.docker.com/compose/how-tos/file-watch/", e.err)
		if err != nil {
			return err
		}
	}
	if err := e.checkPorts(pl); err != nil {
		return err
	}
	if err := e.checkNetworks(pl); err != nil {
		return err
	}
	pl.quietBuild, pl.quietPull = opts.QuietBuild, opts.QuietPull
	if err := e.resolveImages(ctx, pl, opts.Pull, opts.Build); err != nil {
		return err
	}
	if err := e.checkStorage(pl); err != nil {
		return err
	}
	lock, err := e.lockProject(ctx, p.Name)
	if err != nil {
		return err
	}
	if err := e.repairProject(ctx, p.Name); err != nil {
		lock.Unlock()
		return err
	}
	if w := e.storageWarning(); w != "" {
		fmt.Fprintln(e.err, "WARNING:", w)
	}
	for _, w := range optionalDependencyWarnings(pl.project, pl.graph.Services()) {
		fmt.Fprintf(e.err, "WARN[0000] %s\n", w)
	}
	orphans, err := e.handleOrphans(p, opts.Converge.RemoveOrphans, opts.Converge.IgnoreOrphans)
	if err != nil {
		e.unlockProject(lock, p.Name)
		return err
	}
	e.useHooksOf(pl.project)
	if !opts.Detach && !opts.Wait {
		e.captureHookOutput()
	}
	e.beginProgressOf("up", opts.Detach)
	err = e.removeOrphans(ctx, orphans)
	if err == nil {
		err = e.recreateNetworks(ctx, pl)
	}
	if err == nil {
		err = e.converge(ctx, pl)
	}
	e.endProgress()
	e.unlockProject(lock, p.Name)
	if err != nil {
		e.printDependencyLogs(err)
		return err
	}
	if opts.Converge.NoStart { // `create`, `up --no-start`: nothing to wait for or attach to
		return nil
	}
	if e.dryRun {
		if !opts.Detach && !opts.Wait {
			fmt.Fprintln(e.out, "end of 'compose up' output, interactive run is not supported in dry-run mode") // on stdout, as Compose prints it
		}
		return nil
	}
	return e.afterStart(ctx, p, pl, opts)
}

// storageWarning is the one line saying containers get copied root
// filesystems (no overlayfs here); a dry run probes nothing.
func (e *Engine) storageWarning() string {
	if e.dryRun {
		return ""
	}
	return container.StorageWarning(e.records.ContainersDir())
}

func (e *Engine) serviceContainers(projectName, service string) ([]*record.Record, error) {
	all, err := e.containers(projectName)
	if err != nil {
		return nil, err
	}
	var out []*record.Record
	for _, r := range all {
		if r.Service == service && r.Labels[record.LabelOneoff] != "True" {
			out = append(out, r)
		}
	}
	return out, nil
}

func stopTimeout(svc types.ServiceConfig, override *time.Duration) time.Duration {
	if override != nil {
		return *override
	}
	if svc.StopGracePeriod != nil {
		return time.Duration(*svc.StopGracePeriod)
	}
	return defaultStopTimeout
}

func (e *Engine) create(ctx context.Context, pl *plan, svc types.ServiceConfig, number int, hash string, img *image.Image) (*record.Record, error) {
	return e.createWith(ctx, pl, svc, number, hash, img, createOverrides{})
}

// createOverrides change a container from what its service says (`run`).
type createOverrides struct {
	name   string            // container name
	oneoff bool              // a `run` container: oneoff label, no progress lines
	labels map[string]string // added last
	mounts []runspec.Mount   // added after the service's
	// noAliases leaves out the service's name and network aliases (a
	// `run` container without --use-aliases): only its name resolves.
	noAliases bool
	// previous is the container this one replaces: its anonymous volumes
	// are taken over, as Docker does on recreate.
	previous *record.Record
}

// createWith creates one container of svc: its record, spec, /etc files
// and published ports; what it made is removed when a step fails.
func (e *Engine) createWith(ctx context.Context, pl *plan, svc types.ServiceConfig, number int, hash string, img *image.Image, ov createOverrides) (*record.Record, error) {
	p := pl.project
	name := svc.ContainerName
	if ov.name != "" {
		name = ov.name
	} else if name == "" {
		name = e.containerName(p.Name, svc.Name, number)
	}
	progress := e.progress
	if ov.oneoff {
		progress = func(string, string, string) {}
	}
	progress("Container", name, "Creating")
	if e.dryRun { // nothing is made: the record only names the container
		progress("Container", name, "Created")
		return &record.Record{Name: name, Project: p.Name, Service: svc.Name, Number: number}, nil
	}
	id := record.NewID()
	dir := e.records.Dir(id)
	if err := os.MkdirAll(dir, 0o710); err != nil {
		return nil, err
	}
	rec := &record.Record{
		ID: id, Name: name, Project: p.Name, Service: svc.Name, Number: number,
		Image: svc.Image, ImageID: img.ID, Labels: containerLabels(p, svc, number, hash, img.ID, ov),
		Created: time.Now().UTC(), Dir: dir,
	}
	if svc.StopGracePeriod != nil {
		d := time.Duration(*svc.StopGracePeriod)
		rec.StopTimeout = &d
	}
	if err := e.fillRecord(ctx, pl, svc, rec, img, ov); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	progress("Container", name, "Created")
	return rec, nil
}

// containerLabels are the service's labels, Compose's own and the overrides'.
func containerLabels(p *types.Project, svc types.ServiceConfig, number int, hash, imageID string, ov createOverrides) map[string]string {
	labels := map[string]string{}
	for k, v := range svc.Labels {
		labels[k] = v
	}
	deps := make([]string, 0, len(svc.DependsOn))
	for dep, d := range svc.DependsOn {
		deps = append(deps, fmt.Sprintf("%s:%s:%t", dep, d.Condition, d.Restart))
	}
	sort.Strings(deps)
	for k, v := range map[string]string{
		record.LabelProject:     p.Name,
		record.LabelService:     svc.Name,
		record.LabelNumber:      strconv.Itoa(number),
		record.LabelConfigHash:  hash,
		record.LabelOneoff:      "False",
		record.LabelWorkingDir:  p.WorkingDir,
		record.LabelConfigFiles: strings.Join(p.ComposeFiles, ","),
		record.LabelVersion:     Version,
		record.LabelImage:       imageID,
		record.LabelDependsOn:   strings.Join(deps, ","),
	} {
		labels[k] = v
	}
	if ov.oneoff {
		labels[record.LabelOneoff] = "True"
	}
	for k, v := range ov.labels {
		labels[k] = v
	}
	return labels
}

// fillRecord fills in the new container's networking and spec, writes its
// files and saves its record.
func (e *Engine) fillRecord(ctx context.Context, pl *plan, svc types.ServiceConfig, rec *record.Record, img *image.Image, ov createOverrides) error {
	nameserver, err := e.networking(pl, svc, rec, ov.noAliases)
	if err != nil {
		return err
	}
	spec, err := buildSpec(rec, svc, img)
	e.warn(svc.Name, rec.Warnings...)
	if err != nil {
		return err
	}
	if rec.Exposed, err = specgen.Exposed(svc, img.Config); err != nil {
		return err
	}
	storage, err := e.storageMounts(ctx, pl, svc, rec, img, ov.previous)
	if err != nil {
		return err
	}
	spec.Mounts = append(spec.Mounts, storage...)
	spec.Mounts = append(spec.Mounts, ov.mounts...)
	rec.Command = spec.Args
	rec.Spec = spec
	if rec.ExtraHosts, err = specgen.ExtraHosts(svc, nameserver); err != nil {
		return err
	}
	if err := writeResolvConf(rec.Dir, nameserver, svc); err != nil {
		return err
	}
	return e.records.Save(rec)
}

// networking sets the new container's networks (or network mode), links,
// dns servers and published ports. It returns the address of the DNS
// server for its resolv.conf: the gateway of its first network, or of the
// first network of the container whose namespace it joins.
func (e *Engine) networking(pl *plan, svc types.ServiceConfig, rec *record.Record, noAliases bool) (string, error) {
	p := pl.project
	var nameserver string
	for _, key := range serviceNetworks(svc) {
		nw := p.Networks[key]
		aliases := []string{svc.Name}
		att := record.Attachment{Network: nw.Name}
		if c := svc.Networks[key]; c != nil {
			aliases = append(aliases, c.Aliases...)
			att.IPv4Address, att.IPv6Address, att.MacAddress = c.Ipv4Address, c.Ipv6Address, c.MacAddress
			att.InterfaceName, att.LinkLocalIPs, att.GwPriority = c.InterfaceName, c.LinkLocalIPs, c.GatewayPriority
			att.Sysctls = specgen.EndpointSysctls(c)
		}
		if len(rec.Networks) == 0 && att.MacAddress == "" {
			att.MacAddress = svc.MacAddress
		}
		if !noAliases {
			att.Aliases = aliases
		}
		rec.Networks = append(rec.Networks, att)
		if nameserver == "" {
			if n, err := e.nets.Get(nw.Name); err == nil {
				nameserver = n.Gateway
			}
		}
	}
	if specgen.DefaultBridge(svc) {
		// Docker's default bridge: one network for the host, no names on it.
		rec.Networks = []record.Attachment{{Network: specgen.DefaultBridgeNetwork, MacAddress: svc.MacAddress}}
		if n, err := e.nets.Get(specgen.DefaultBridgeNetwork); err == nil {
			nameserver = n.Gateway
		}
		svc.NetworkMode = ""
	}
	mode, target, err := e.resolveNetworkMode(p.Name, svc.NetworkMode)
	if err != nil {
		return "", err
	}
	rec.NetworkMode = mode
	rec.Links = specgen.Links(svc)
	rec.DNS = svc.DNS
	if target != nil && len(target.Networks) > 0 {
		if n, err := e.nets.Get(target.Networks[0].Network); err == nil {
			nameserver = n.Gateway
		}
	}
	specs, err := specgen.Ports(svc)
	if mode != "" {
		if len(specs) > 0 {
			e.warn(svc.Name, fmt.Sprintf("published ports are discarded with network_mode %q", svc.NetworkMode))
		}
		specs = nil
	}
	if err == nil {
		rec.Ports, err = pl.hostPorts.allocate(specs)
	}
	return nameserver, err
}

func (e *Engine) startRecord(ctx context.Context, r *record.Record) error {
	e.progress("Container", r.Name, "Starting")
	if err := e.would(func() error { return e.runtime.Start(ctx, r.Spec) }); err != nil {
		return fmt.Errorf("container %s: %w", r.Name, err)
	}
	if err := e.postStart(ctx, r); err != nil { // Docker reports Started after them
		return err
	}
	e.progress("Container", r.Name, "Started")
	return nil
}

// stopRecord stops a running container within timeout (then SIGKILL).
func (e *Engine) stopRecord(ctx context.Context, r *record.Record, timeout time.Duration) error {
	return e.stopWith(ctx, r, timeout, e.runtime.Stop)
}

// stopWith stops a container with the runtime's stop (or halt), with
// progress. Like Docker Compose (pkg/compose/stop.go, stopContainer) the
// Stopping and Stopped lines come for a container that was not running too.
func (e *Engine) stopWith(ctx context.Context, r *record.Record, timeout time.Duration, stop func(context.Context, string, time.Duration) error) error {
	e.progress("Container", r.Name, "Stopping")
	if err := e.halt(ctx, r, timeout, stop); err != nil {
		return err
	}
	e.progress("Container", r.Name, "Stopped")
	return nil
}

// halt stops a live container without a word; a restarting container is
// stopped too, or it comes back.
func (e *Engine) halt(ctx context.Context, r *record.Record, timeout time.Duration, stop func(context.Context, string, time.Duration) error) error {
	if !isLive(r) {
		return nil
	}
	// A frozen process would never see the stop signal (nor run pre_stop).
	e.resumePaused(ctx, []*record.Record{r})
	// As in Docker Compose, a failed pre_stop leaves the container running.
	if err := e.preStop(ctx, r); err != nil {
		return err
	}
	if err := e.would(func() error { return stop(ctx, r.Dir, timeout) }); err != nil {
		return fmt.Errorf("container %s: %w", r.Name, err)
	}
	return nil
}

// retire stops and removes the container a recreate replaces: Docker
// Compose reports only "Recreate" and "Recreated" for it (convergence.go).
func (e *Engine) retire(ctx context.Context, r *record.Record, timeout time.Duration) error {
	if err := e.halt(ctx, r, timeout, e.runtime.Stop); err != nil {
		return err
	}
	return e.remove(ctx, r)
}

func (e *Engine) removeRecord(ctx context.Context, r *record.Record, timeout time.Duration) error {
	if err := e.stopRecord(ctx, r, timeout); err != nil {
		return err
	}
	e.progress("Container", r.Name, "Removing")
	if err := e.remove(ctx, r); err != nil {
		return err
	}
	e.progress("Container", r.Name, "Removed")
	return nil
}

// remove deletes a stopped container. Its endpoints are released here too:
// the supervisor normally did it, but not if it was killed or the host
// rebooted, or when `down` leaves the teardown to us. A container whose
// network could not be released stays, so that the next removal finishes
// the job rather than leave endpoints that belong to nothing.
func (e *Engine) remove(ctx context.Context, r *record.Record) error {
	return e.would(func() error { // a dry run stopped nothing: it is stopped
		if isRunning(r) {
			return fmt.Errorf("container %s is running: %w", r.Name, errdefs.ErrConflict)
		}
		if err := disconnect(ctx, e.nets, r); err != nil {
			return fmt.Errorf("container %s: %w", r.Name, err)
		}
		if err := e.runtime.Remove(ctx, r.Dir); err != nil {
			return fmt.Errorf("container %s: %w", r.Name, err)
		}
		return nil
	})
}
