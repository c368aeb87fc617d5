package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/networks"
)

// NetworkCreateOptions are the flags of `compose network create`.
type NetworkCreateOptions struct {
	Driver     string
	Subnet     string
	Gateway    string
	IPRange    string
	AuxAddress []string // name=ip
	Internal   bool
	Attachable bool
	IPv6       bool
	Labels     []string          // KEY=VALUE
	Opts       map[string]string // driver options
	Out        io.Writer
}

// NetworkCreate creates a network outside any project (for `external: true`)
// and prints its id, like `docker network create`.
func (e *Engine) NetworkCreate(ctx context.Context, name string, o NetworkCreateOptions) error {
	if o.Driver != "" && o.Driver != "bridge" {
		return fmt.Errorf("network %q: driver %q is not supported (only bridge): %w", name, o.Driver, errdefs.ErrInvalidArgument)
	}
	if _, err := e.nets.Get(name); err == nil {
		return fmt.Errorf("network with name %s already exists: %w", name, errdefs.ErrAlreadyExists)
	}
	labels, err := keyValues(o.Labels, "--label")
	if err != nil {
		return err
	}
	opts := networks.Options{Labels: labels, Subnet: o.Subnet, Gateway: o.Gateway, IPRange: o.IPRange, Internal: o.Internal, Attachable: o.Attachable, EnableIPv6: o.IPv6}
	if p, err := netip.ParsePrefix(o.Subnet); err == nil && p.Addr().Is6() {
		// --ipv6 --subnet fd..::/64: the IPv6 subnet; IPv4 is picked from the pool.
		opts.Subnet, opts.Gateway, opts.Subnet6, opts.Gateway6 = "", "", o.Subnet, o.Gateway
		if o.IPRange != "" {
			return fmt.Errorf("network %q: --ip-range is not supported for an IPv6 subnet: %w", name, errdefs.ErrInvalidArgument)
		}
	}
	for _, a := range o.AuxAddress {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("aux-address %q: want name=ip: %w", a, errdefs.ErrInvalidArgument)
		}
		if opts.AuxAddresses == nil {
			opts.AuxAddresses = map[string]string{}
		}
		opts.AuxAddresses[k] = v
	}
	for k, v := range o.Opts {
		switch k {
		case "com.docker.network.bridge.name":
			opts.BridgeName = v
		case "com.docker.network.driver.mtu":
			if opts.MTU, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("mtu %q: %w", v, errdefs.ErrInvalidArgument)
			}
		}
	}
	n, err := e.nets.EnsureWith(ctx, name, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, n.ID)
	return nil
}

// NetworkListOptions are the flags of `compose network ls`.
type NetworkListOptions struct {
	Quiet   bool
	NoTrunc bool
	Format  string // table (default) or json
	Out     io.Writer
}

// networkSummary is one line of `network ls --format json`, as Docker prints it.
type networkSummary struct {
	CreatedAt string `json:"CreatedAt"`
	Driver    string `json:"Driver"`
	ID        string `json:"ID"`
	IPv6      string `json:"IPv6"`
	Internal  string `json:"Internal"`
	Labels    string `json:"Labels"`
	Name      string `json:"Name"`
	Scope     string `json:"Scope"`
}

// NetworkList prints the networks of this state root like `docker network ls`.
func (e *Engine) NetworkList(ctx context.Context, o NetworkListOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nets, err := e.nets.List()
	if err != nil {
		return err
	}
	id := func(n networks.Network) string {
		if o.NoTrunc {
			return n.ID
		}
		return n.ID[:12]
	}
	switch {
	case o.Quiet:
		for _, n := range nets {
			fmt.Fprintln(o.Out, id(n))
		}
	case o.Format == "json":
		enc := json.NewEncoder(o.Out)
		for _, n := range nets {
			_ = enc.Encode(networkSummary{CreatedAt: n.Created.Local().Format("2006-01-02 15:04:05.999999999 -0700 MST"), Driver: "bridge",
				ID: id(n), IPv6: "false", Internal: strconv.FormatBool(n.Internal), Labels: joinLabels(n.Labels), Name: n.Name, Scope: "local"})
		}
	case o.Format == "" || o.Format == "table":
		tw := tabwriter.NewWriter(o.Out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
		for _, n := range nets {
			fmt.Fprintf(tw, "%s\t%s\tbridge\tlocal\n", id(n), n.Name)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("format %q (table, json): %w", o.Format, errdefs.ErrInvalidArgument)
	}
	return nil
}

func joinLabels(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// NetworkInspect returns Docker's inspect document of each network, found
// by name or id prefix.
func (e *Engine) NetworkInspect(ctx context.Context, names []string) ([]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	docs := []any{}
	for _, name := range names {
		n, err := e.findNetwork(name)
		if err != nil {
			return nil, err
		}
		docs = append(docs, inspectDoc(n))
	}
	return docs, nil
}

// findNetwork resolves a name, full id or id prefix.
func (e *Engine) findNetwork(ref string) (*networks.Network, error) {
	if n, err := e.nets.Get(ref); err == nil {
		return n, nil
	}
	nets, err := e.nets.List()
	if err != nil {
		return nil, err
	}
	for i := range nets {
		if len(ref) >= 3 && strings.HasPrefix(nets[i].ID, ref) {
			return &nets[i], nil
		}
	}
	return nil, fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
}

func inspectDoc(n *networks.Network) map[string]any {
	bits := "16"
	if p, err := netip.ParsePrefix(n.Subnet); err == nil {
		bits = strconv.Itoa(p.Bits())
	}
	bits6 := ""
	if p, err := netip.ParsePrefix(n.Subnet6); err == nil {
		bits6 = "/" + strconv.Itoa(p.Bits())
	}
	containers := map[string]any{}
	for _, ep := range n.Endpoints {
		ip6 := ""
		if ep.IP6 != "" {
			ip6 = ep.IP6 + bits6
		}
		containers[ep.ContainerID] = map[string]string{
			"Name": ep.ContainerName, "EndpointID": ep.HostIface, "MacAddress": ep.MAC,
			"IPv4Address": ep.IP + "/" + bits, "IPv6Address": ip6,
		}
	}
	ipam := map[string]any{"Subnet": n.Subnet, "Gateway": n.Gateway}
	if n.IPRange != "" {
		ipam["IPRange"] = n.IPRange
	}
	if len(n.AuxAddresses) > 0 {
		ipam["AuxiliaryAddresses"] = n.AuxAddresses
	}
	configs := []any{ipam}
	if n.IPv6() {
		configs = append(configs, map[string]any{"Subnet": n.Subnet6, "Gateway": n.Gateway6})
	}
	options := map[string]string{"com.docker.network.bridge.name": n.Bridge}
	if n.MTU != 0 {
		options["com.docker.network.driver.mtu"] = strconv.Itoa(n.MTU)
	}
	labels := n.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return map[string]any{
		"Name": n.Name, "Id": n.ID, "Created": n.Created.Format(time.RFC3339Nano), "Scope": "local", "Driver": "bridge",
		"EnableIPv6": n.IPv6(), "IPAM": map[string]any{"Driver": "default", "Options": map[string]string{}, "Config": configs},
		"Internal": n.Internal, "Attachable": n.Attachable, "Ingress": false, "ConfigFrom": map[string]string{"Network": ""},
		"ConfigOnly": false, "Containers": containers, "Options": options, "Labels": labels,
	}
}

// NetworkRemove removes networks by name or id and returns those removed
// (as named); a network with containers attached is ErrConflict.
func (e *Engine) NetworkRemove(ctx context.Context, names []string) ([]string, error) {
	var errs []string
	var last error
	var removed []string
	for _, name := range names {
		n, err := e.findNetwork(name)
		if err == nil && len(n.Endpoints) > 0 {
			// Endpoints that no container holds (a `down` that failed
			// half way) do not keep it.
			err = e.sweepEndpoints(ctx, []string{n.Name})
			if err == nil {
				n, err = e.findNetwork(n.Name)
			}
		}
		if err == nil && len(n.Endpoints) > 0 { // Remove says so too; checked here for a dry run
			err = fmt.Errorf("network %q has %d active endpoints: %w", n.Name, len(n.Endpoints), errdefs.ErrConflict)
		}
		if err == nil {
			err = e.would(func() error { return e.nets.Remove(ctx, n.Name) })
		}
		if err != nil {
			errs, last = append(errs, err.Error()), err
			continue
		}
		removed = append(removed, name)
	}
	if len(errs) == 1 {
		return removed, last
	}
	if len(errs) > 1 {
		return removed, fmt.Errorf("%s: %w", strings.Join(errs, "; "), last)
	}
	return removed, nil
}

// NetworkPrune removes every network without containers and returns their names.
func (e *Engine) NetworkPrune(ctx context.Context) ([]string, error) {
	nets, err := e.nets.List()
	if err != nil {
		return nil, err
	}
	var used []string
	for _, n := range nets {
		if len(n.Endpoints) > 0 {
			used = append(used, n.Name)
		}
	}
	// Endpoints that no container holds (a `down` that failed half way)
	// do not keep a network.
	sweepErr := e.sweepEndpoints(ctx, used)
	if nets, err = e.nets.List(); err != nil {
		return nil, errors.Join(err, sweepErr)
	}
	var removed []string
	for _, n := range nets {
		if len(n.Endpoints) > 0 {
			continue
		}
		if err := e.would(func() error { return e.nets.Remove(ctx, n.Name) }); err != nil {
			if errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrConflict) {
				continue // used or removed meanwhile
			}
			return removed, errors.Join(err, sweepErr)
		}
		removed = append(removed, n.Name)
	}
	return removed, sweepErr
}
