package container

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/composer-dev/compose/errdefs"
)

// NormalizeCap returns a capability's canonical name ("net_admin" ->
// "CAP_NET_ADMIN"; "ALL" stays "ALL") or an error naming an unknown one.
func NormalizeCap(name string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(name))
	if c == "ALL" {
		return c, nil
	}
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	if !slices.Contains(allCaps(), c) {
		return "", fmt.Errorf("unknown capability: %q: %w", name, errdefs.ErrInvalidArgument)
	}
	return c, nil
}

// capabilities computes the container's capability set like Docker:
// privileged gets all; otherwise the default set, or all with cap_add ALL,
// or none with cap_drop ALL, minus cap_drop, plus cap_add.
func capabilities(o *Options) ([]string, error) {
	if o.Privileged {
		return grantableCaps(), nil
	}
	norm := func(list []string) ([]string, error) {
		out := make([]string, 0, len(list))
		for _, c := range list {
			n, err := NormalizeCap(c)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	add, err := norm(o.CapAdd)
	if err != nil {
		return nil, err
	}
	drop, err := norm(o.CapDrop)
	if err != nil {
		return nil, err
	}
	var base []string
	switch {
	case slices.Contains(add, "ALL"):
		base, add = grantableCaps(), nil
	case slices.Contains(drop, "ALL"):
		base, drop = nil, nil
	default:
		base = defaultCaps
	}
	var caps []string
	for _, c := range base {
		if !slices.Contains(drop, c) {
			caps = append(caps, c)
		}
	}
	for _, c := range add {
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	return caps, nil
}

// grantableCaps are all capabilities this process may grant: those in its
// own bounding set (a nested or restricted host may lack some; asking for
// them would fail the start).
func grantableCaps() []string {
	all := allCaps()
	c, err := capability.NewPid2(0)
	if err == nil {
		err = c.Load()
	}
	if err != nil {
		return all
	}
	out := make([]string, 0, len(all))
	for _, known := range capability.ListKnown() {
		name := "CAP_" + strings.ToUpper(known.String())
		if slices.Contains(all, name) && c.Get(capability.BOUNDING, known) {
			out = append(out, name)
		}
	}
	return out
}

// allCaps is every capability the kernel knows, the base of what privileged may grant.
func allCaps() []string {
	last, _ := capability.LastCap()
	var out []string
	for _, c := range capability.ListKnown() {
		if c <= last {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return out
}
