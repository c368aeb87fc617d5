// Package boot brings a state root's containers back after a host reboot.
// There is no daemon to do it: a systemd unit runs `compose --root ROOT
// system resume` once the network is up. Install writes the unit and
// enables it the way `systemctl enable` does (a link in the target's
// .wants directory), without calling systemctl; Uninstall removes both.
package boot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/store"
)

// DefaultDir is where the unit goes unless told otherwise: the directory
// of the administrator's units.
const DefaultDir = "/etc/systemd/system"

// wantedBy is the target that pulls the unit in at boot.
const wantedBy = "multi-user.target"

// Unit is the boot unit of one state root.
type Unit struct {
	Dir  string // systemd's unit directory, e.g. DefaultDir
	Exe  string // the compose binary, an absolute path
	Root string // the state root, an absolute path
	// DefaultRoot is compose's default state root: its unit has the plain
	// name compose-resume.service, the others' names carry a hash of
	// their root.
	DefaultRoot string
}

// Name is the unit's file name.
func (u Unit) Name() string {
	if u.Root == u.DefaultRoot {
		return "compose-resume.service"
	}
	sum := sha256.Sum256([]byte(u.Root))
	return "compose-resume-" + hex.EncodeToString(sum[:])[:12] + ".service"
}

// Path is where the unit is written.
func (u Unit) Path() string { return filepath.Join(u.Dir, u.Name()) }

// WantsLink is the link that enables the unit.
func (u Unit) WantsLink() string { return filepath.Join(u.Dir, wantedBy+".wants", u.Name()) }

// Content is the unit file: a oneshot after network-online.target that
// runs `system resume` for the root. KillMode=process leaves the
// supervisors it starts alone when the unit is stopped: they belong to
// the containers, not to the unit.
func (u Unit) Content() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `compose system install-boot`; `compose system uninstall-boot` removes it.\n")
	fmt.Fprintf(&b, "[Unit]\n")
	fmt.Fprintf(&b, "Description=Resume the compose containers of %s (restart: always, unless-stopped)\n", specifierEscape(u.Root))
	fmt.Fprintf(&b, "Wants=network-online.target\n")
	fmt.Fprintf(&b, "After=network-online.target\n")
	fmt.Fprintf(&b, "RequiresMountsFor=%s\n", quote(u.Root, false))
	fmt.Fprintf(&b, "\n[Service]\n")
	fmt.Fprintf(&b, "Type=oneshot\n")
	fmt.Fprintf(&b, "RemainAfterExit=yes\n")
	fmt.Fprintf(&b, "KillMode=process\n")
	fmt.Fprintf(&b, "ExecStart=%s --root %s system resume\n", quote(u.Exe, true), quote(u.Root, true))
	fmt.Fprintf(&b, "\n[Install]\n")
	fmt.Fprintf(&b, "WantedBy=%s\n", wantedBy)
	return b.String()
}

// Install writes the unit and enables it; run again, it brings both up to
// date.
func (u Unit) Install() error {
	if !filepath.IsAbs(u.Exe) || !filepath.IsAbs(u.Root) || strings.ContainsAny(u.Exe+u.Root, "\n\r") {
		return fmt.Errorf("boot unit: binary %q and state root %q must be absolute paths on one line: %w", u.Exe, u.Root, errdefs.ErrInvalidArgument)
	}
	if err := os.MkdirAll(u.Dir, 0o755); err != nil {
		return fmt.Errorf("boot unit: %w", err)
	}
	if err := store.WriteFile(u.Path(), []byte(u.Content()), 0o644); err != nil {
		return fmt.Errorf("boot unit: %w", err)
	}
	link := u.WantsLink()
	if target, err := os.Readlink(link); err == nil && target == u.Path() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("boot unit: %w", err)
	}
	// A new link replaces whatever is there in one step.
	tmp := filepath.Join(filepath.Dir(link), "."+u.Name()+".tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(u.Path(), tmp); err != nil {
		return fmt.Errorf("boot unit: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("boot unit: %w", err)
	}
	return nil
}

// Uninstall disables and removes the unit. It reports whether there was
// anything to remove.
func (u Unit) Uninstall() (bool, error) {
	removed := false
	for _, p := range []string{u.WantsLink(), u.Path()} {
		err := os.Remove(p)
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return removed, fmt.Errorf("boot unit: %w", err)
		}
	}
	return removed, nil
}

// quote writes one word of a unit setting: as it is when it holds nothing
// systemd reads specially, else double-quoted with its escapes. Specifiers
// (%) are escaped either way, and on a command line (ExecStart) variables
// ($) too.
func quote(s string, cmdline bool) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._+:@=,-", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	dollar := "$"
	if cmdline {
		dollar = "$$"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", dollar, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// specifierEscape escapes % in a free-text value (Description).
func specifierEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }
