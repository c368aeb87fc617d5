package boot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

func TestName(t *testing.T) {
	def := Unit{Root: "/var/lib/compose", DefaultRoot: "/var/lib/compose"}
	if got := def.Name(); got != "compose-resume.service" {
		t.Errorf("default root: %s", got)
	}
	a := Unit{Root: "/srv/a", DefaultRoot: "/var/lib/compose"}
	b := Unit{Root: "/srv/b", DefaultRoot: "/var/lib/compose"}
	if a.Name() == b.Name() || !strings.HasPrefix(a.Name(), "compose-resume-") || !strings.HasSuffix(a.Name(), ".service") {
		t.Errorf("other roots: %s, %s", a.Name(), b.Name())
	}
}

func TestQuote(t *testing.T) {
	for _, tt := range []struct {
		in, cmdline, other string
	}{
		{"/usr/local/bin/compose", "/usr/local/bin/compose", "/usr/local/bin/compose"},
		{"/srv/my root", `"/srv/my root"`, `"/srv/my root"`},
		{"/srv/50%", `"/srv/50%%"`, `"/srv/50%%"`},
		{`/srv/a"b\c`, `"/srv/a\"b\\c"`, `"/srv/a\"b\\c"`},
		{"/srv/$HOME", `"/srv/$$HOME"`, `"/srv/$HOME"`},
	} {
		if got := quote(tt.in, true); got != tt.cmdline {
			t.Errorf("quote(%q, cmdline) = %s, want %s", tt.in, got, tt.cmdline)
		}
		if got := quote(tt.in, false); got != tt.other {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.other)
		}
	}
}

func TestContent(t *testing.T) {
	u := Unit{Exe: "/usr/local/bin/compose", Root: "/var/lib/compose", DefaultRoot: "/var/lib/compose"}
	c := u.Content()
	for _, want := range []string{
		"[Unit]\n", "\nAfter=network-online.target\n", "\nWants=network-online.target\n",
		"\n[Service]\n", "\nType=oneshot\n", "\nExecStart=/usr/local/bin/compose --root /var/lib/compose system resume\n",
		"\n[Install]\n", "\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("unit lacks %q:\n%s", want, c)
		}
	}
	odd := Unit{Exe: "/opt/my tools/compose", Root: "/srv/50% full", DefaultRoot: "/var/lib/compose"}
	if !strings.Contains(odd.Content(), "\nExecStart=\"/opt/my tools/compose\" --root \"/srv/50%% full\" system resume\n") {
		t.Errorf("quoted ExecStart:\n%s", odd.Content())
	}
}

func TestInstallUninstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "system")
	u := Unit{Dir: dir, Exe: "/usr/local/bin/compose", Root: "/srv/state", DefaultRoot: "/var/lib/compose"}
	for i := range 2 { // the second install finds everything in place
		if err := u.Install(); err != nil {
			t.Fatalf("install %d: %v", i+1, err)
		}
		b, err := os.ReadFile(u.Path())
		if err != nil || string(b) != u.Content() {
			t.Fatalf("unit file: %q, %v", b, err)
		}
		if target, err := os.Readlink(u.WantsLink()); err != nil || target != u.Path() {
			t.Fatalf("wants link -> %q, %v", target, err)
		}
	}
	// A stale link (another binary's) is replaced.
	if err := os.Remove(u.WantsLink()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/elsewhere", u.WantsLink()); err != nil {
		t.Fatal(err)
	}
	if err := u.Install(); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(u.WantsLink()); target != u.Path() {
		t.Fatalf("stale link not replaced: %q", target)
	}
	if ents, _ := os.ReadDir(filepath.Dir(u.WantsLink())); len(ents) != 1 {
		t.Errorf("wants dir holds %v", ents)
	}

	if removed, err := u.Uninstall(); !removed || err != nil {
		t.Fatalf("uninstall: %v, %v", removed, err)
	}
	for _, p := range []string{u.Path(), u.WantsLink()} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	if removed, err := u.Uninstall(); removed || err != nil {
		t.Fatalf("second uninstall: %v, %v", removed, err)
	}
}

func TestInstallNeedsAbsolutePaths(t *testing.T) {
	u := Unit{Dir: t.TempDir(), Exe: "compose", Root: "/srv/state"}
	if err := u.Install(); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("relative binary: %v", err)
	}
	if ents, _ := os.ReadDir(u.Dir); len(ents) > 0 {
		t.Errorf("a refused install wrote %v", ents)
	}
}
