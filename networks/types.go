package networks

import "time"

// Manager creates and tracks the networks of one state root.
type Manager struct {
	StateDir string // persistent: <state root>/networks (network records, IPAM, endpoints)
	RunDir   string // runtime: /run/compose/<hash>/ (netns bind mounts under RunDir/netns/, DNS pid)
	Exe      string // binary re-executed for the DNS server: `Exe __dns <StateDir> <RunDir>`
}

// Network is the persisted record of one compose network.
type Network struct {
	Name      string            `json:"name"`    // full name, e.g. "myproj_default"
	ID        string            `json:"id"`      // 64 hex, random
	Bridge    string            `json:"bridge"`  // "br-" + ID[:12]
	Subnet    string            `json:"subnet"`  // "172.18.0.0/16"
	Gateway   string            `json:"gateway"` // "172.18.0.1"
	BridgeMAC string            `json:"bridge_mac"`
	Labels    map[string]string `json:"labels,omitempty"`
	Endpoints []Endpoint        `json:"endpoints,omitempty"`

	IPRange      string            `json:"ip_range,omitempty"`      // containers get addresses from here only
	AuxAddresses map[string]string `json:"aux_addresses,omitempty"` // reserved, never handed out
	Internal     bool              `json:"internal,omitempty"`      // no route or NAT out of the bridge
	Attachable   bool              `json:"attachable,omitempty"`
	MTU          int               `json:"mtu,omitempty"`
	Created      time.Time         `json:"created,omitempty"`

	// IPv6 (enable_ipv6): the bridge and every container also get an
	// address of Subnet6, routed and masqueraded like IPv4.
	Subnet6  string `json:"subnet6,omitempty"` // "fd12:3456:789a::/64"
	Gateway6 string `json:"gateway6,omitempty"`

	// Docker's bridge driver options: enable_icc=false drops traffic
	// between the bridge's containers, enable_ip_masquerade=false sends
	// their outbound traffic unmasqueraded.
	NoICC        bool `json:"no_icc,omitempty"`
	NoMasquerade bool `json:"no_masquerade,omitempty"`
	// DefaultBridge marks the network `network_mode: bridge` joins, as
	// Docker's default bridge: its containers get no names in the DNS.
	DefaultBridge bool `json:"default_bridge,omitempty"`
}

// IPv6 reports whether the network has an IPv6 subnet.
func (n *Network) IPv6() bool { return n.Subnet6 != "" }

// Options shape a new network; Ensure of an existing network ignores them
// (like Docker, a network's settings are fixed at creation).
type Options struct {
	Labels        map[string]string
	Subnet        string // "" = the first free subnet of the pool
	Gateway       string // "" = the subnet's first address
	IPRange       string
	AuxAddresses  map[string]string
	Internal      bool
	Attachable    bool
	BridgeName    string // com.docker.network.bridge.name; "" = "br-" + id[:12]
	MTU           int    // com.docker.network.driver.mtu; 0 = kernel default
	EnableIPv6    bool
	Subnet6       string // "" with EnableIPv6 = a random ULA /64
	Gateway6      string // "" = the subnet's first address
	NoICC         bool   // com.docker.network.bridge.enable_icc=false
	NoMasquerade  bool   // com.docker.network.bridge.enable_ip_masquerade=false
	DefaultBridge bool   // the network of network_mode: bridge (no DNS names)
}

// Endpoint is one container's attachment to a network.
type Endpoint struct {
	ContainerID   string   `json:"container_id"`
	ContainerName string   `json:"container_name"`
	Aliases       []string `json:"aliases,omitempty"` // service name, network aliases
	IP            string   `json:"ip"`                // set by Connect unless given (static address)
	IP6           string   `json:"ip6,omitempty"`     // on IPv6 networks; set by Connect unless given
	MAC           string   `json:"mac"`               // set by Connect unless given
	IfName        string   `json:"ifname,omitempty"`  // interface inside the netns: given (interface_name), or eth0, eth1, ... by Connect
	HostIface     string   `json:"host_iface,omitempty"`
	// Links are this container's own extra names (links: "db:database"
	// gives database -> db), answered only to this container.
	Links map[string]string `json:"links,omitempty"`
	// DNS are the service's dns servers: the embedded DNS forwards this
	// container's non-local names to them instead of the host's resolvers.
	DNS []string `json:"dns,omitempty"`
	// LinkLocalIPs are extra link-local addresses of the interface
	// (link_local_ips), added with Docker's /16 (IPv4) and /64 (IPv6).
	LinkLocalIPs []string `json:"link_local_ips,omitempty"`
	// Sysctls are the interface's sysctls ("net.ipv4.conf.IFNAME.x=v"),
	// IFNAME standing for its name (com.docker.network.endpoint.sysctls).
	Sysctls []string `json:"sysctls,omitempty"`
	// NoGateway: the namespace's default route goes through another
	// network (one with a higher gw_priority).
	NoGateway bool `json:"no_gateway,omitempty"`
}
