// Package networks gives compose networks their kernel objects: one Linux
// bridge per network with a subnet from a host-wide pool (IPAM), a veth pair
// per container endpoint moved into a network namespace we create, an
// nftables table per network for outbound NAT and filtering, and the embedded
// DNS server that answers service and container names on each gateway (and,
// for containers, at 127.0.0.11). The DNS server process also holds the
// host sockets of published ports and relays IPv6 to them (portholder.go).
//
// Records live in StateDir (one JSON file per network, written atomically
// under a flock); the DNS server is a separate process per RunDir that reads
// them, so any compose invocation sees the same state. Subnets are picked
// under a host-wide lock and claimed host-wide (claims.go), so state roots
// never share one, even while a network's bridge is missing.
package networks
