package networks

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/composer-dev/compose/internal/store"
)

// A subnet claim says, host-wide, that a network of some state root owns
// a subnet, whether or not its bridge exists right now. IPAM sees the
// subnets of bridges on the host; a claim also covers a network whose
// bridge is gone (a crash, a deleted link) while its record stays, and
// its DNS server still serves it: another state root must not be given
// that subnet, since the owner will make its bridge again.
//
// Claims live in one file per network (by its ID) under the host-wide
// IPAM directory, written once the network is on record and removed with
// it; a claim whose network is no longer on record is stale and dropped
// by the next IPAM pick.
type subnetClaim struct {
	StateDir string `json:"state_dir"`
	Network  string `json:"network"`
	ID       string `json:"id"`
	Subnet   string `json:"subnet"`
	Subnet6  string `json:"subnet6,omitempty"`
}

// claimsDir is next to the IPAM lock (tests move both).
func claimsDir() string { return filepath.Join(filepath.Dir(ipamLockPath), "subnets") }

func claimPath(dir, id string) string { return filepath.Join(dir, id+".json") }

// claim records n's subnets as its own (n is on record already).
func (m *Manager) claim(n *Network) error {
	data, err := json.Marshal(subnetClaim{StateDir: m.StateDir, Network: n.Name, ID: n.ID, Subnet: n.Subnet, Subnet6: n.Subnet6})
	if err != nil {
		return err
	}
	dir := claimsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return store.WriteFileVolatile(claimPath(dir, n.ID), data, 0o600)
}

// claimed reports whether n's claim exists.
func claimed(n *Network) bool {
	_, err := os.Stat(claimPath(claimsDir(), n.ID))
	return err == nil
}

// unclaim removes n's claim; a missing one is fine.
func unclaim(n *Network) error {
	if err := os.Remove(claimPath(claimsDir(), n.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// liveClaims reads the claims in dir and removes the stale ones, whose
// network is no longer on record (or is on record as another network).
// Call it under the IPAM lock.
func liveClaims(dir string) ([]subnetClaim, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []subnetClaim
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed with its network meanwhile
		}
		if err != nil {
			return nil, err
		}
		var c subnetClaim
		if err := json.Unmarshal(data, &c); err != nil || c.ID == "" || c.StateDir == "" || validName(c.Network) != nil {
			_ = os.Remove(path) // torn or foreign: nobody's claim
			continue
		}
		n, err := readRecord(recordPath(c.StateDir, c.Network))
		switch {
		case errors.Is(err, fs.ErrNotExist) || err == nil && n.ID != c.ID:
			_ = os.Remove(path)
			continue
		case err != nil: // unreadable now: keep it, to be safe
		}
		out = append(out, c)
	}
	return out, nil
}
