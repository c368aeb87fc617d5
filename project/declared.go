package project

import "github.com/compose-spec/compose-go/v2/types"

// DeclaredServices names every service the compose files declare, those
// disabled by profiles included: containers of any other service are orphans.
func DeclaredServices(p *types.Project) []string {
	names := p.ServiceNames()
	for n := range p.DisabledServices {
		names = append(names, n)
	}
	return names
}
