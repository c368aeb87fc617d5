package container

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
		err  error
	}{
		{"", syscall.SIGTERM, nil},
		{"SIGKILL", syscall.SIGKILL, nil},
		{"usr1", syscall.SIGUSR1, nil},
		{"QUIT", syscall.SIGQUIT, nil},
		{"9", syscall.SIGKILL, nil},
		{"SIGNOPE", 0, errdefs.ErrInvalidArgument},
		{"0", 0, errdefs.ErrInvalidArgument},
		{"99", 0, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("parseSignal(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	ok := Spec{ID: strings.Repeat("a", 64), Dir: dir, Args: []string{"sh"}}
	tests := []struct {
		name string
		edit func(*Spec)
		err  error
	}{
		{"ok", func(*Spec) {}, nil},
		{"empty id", func(s *Spec) { s.ID = "" }, errdefs.ErrInvalidArgument},
		{"slash in id", func(s *Spec) { s.ID = "a/b" }, errdefs.ErrInvalidArgument},
		{"dotdot id", func(s *Spec) { s.ID = ".." }, errdefs.ErrInvalidArgument},
		{"id too long", func(s *Spec) { s.ID = strings.Repeat("a", 65) }, errdefs.ErrInvalidArgument},
		{"no args", func(s *Spec) { s.Args = nil }, errdefs.ErrInvalidArgument},
		{"relative dir", func(s *Spec) { s.Dir = "x" }, errdefs.ErrInvalidArgument},
		{"missing dir", func(s *Spec) { s.Dir = filepath.Join(dir, "nope") }, errdefs.ErrNotFound},
		{"relative cwd", func(s *Spec) { s.Cwd = "tmp" }, errdefs.ErrInvalidArgument},
		{"relative mount", func(s *Spec) { s.Mounts = []Mount{{Source: "a", Destination: "/a"}} }, errdefs.ErrInvalidArgument},
		{"bad stop signal", func(s *Spec) { s.StopSignal = "SIGFOO" }, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		s := ok
		tt.edit(&s)
		err := validateSpec(&s)
		if (tt.err == nil) != (err == nil) || !errors.Is(err, tt.err) {
			t.Errorf("%s: validate() = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestStartErrorMessages(t *testing.T) {
	tests := []struct {
		in   string
		want string
		code int
	}{
		{`unable to start container process: error during container init: exec: "foo": executable file not found in $PATH`, `exec: "foo": executable file not found in $PATH`, 127},
		{"unable to start container process: error during container init: exec: \"/x\": permission denied\nmore", `exec: "/x": permission denied`, 126},
		{"unable to find user bob: no matching entries in passwd file", "unable to find user bob: no matching entries in passwd file", 128},
	}
	for _, tt := range tests {
		got := initCause(errors.New(tt.in))
		if got != tt.want || startExitCode(got) != tt.code {
			t.Errorf("initCause(%q) = %q (code %d), want %q (%d)", tt.in, got, startExitCode(got), tt.want, tt.code)
		}
	}
	se := &StartError{Msg: "boom", Class: classByName(className(errdefs.ErrConflict))}
	if se.Error() != "boom" || !errors.Is(se, errdefs.ErrConflict) {
		t.Errorf("StartError = %q, class lost", se.Error())
	}
}

func TestReadStateRepairsDeadSupervisor(t *testing.T) {
	// A process that surely exited: our own finished child.
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skip("no /bin/true")
	}
	tests := []struct {
		name string
		in   State
		want State
	}{
		{"running, supervisor gone", State{Status: StatusRunning, Pid: 42, SupervisorPid: cmd.Process.Pid, SupervisorStart: 1},
			State{Status: StatusExited, ExitCode: 255}},
		{"starting, supervisor gone", State{Status: StatusCreated, SupervisorPid: cmd.Process.Pid, SupervisorStart: 1},
			State{Status: StatusExited, ExitCode: 255}},
		{"running, supervisor pid reused", State{Status: StatusRunning, SupervisorPid: os.Getpid(), SupervisorStart: procStart(os.Getpid()) + 1},
			State{Status: StatusExited, ExitCode: 255}},
		{"running, supervisor alive", State{Status: StatusRunning, Pid: 42, SupervisorPid: os.Getpid(), SupervisorStart: procStart(os.Getpid())},
			State{Status: StatusRunning, Pid: 42}},
		{"exited", State{Status: StatusExited, ExitCode: 3}, State{Status: StatusExited, ExitCode: 3}},
		{"failed start", State{Status: StatusCreated, ExitCode: 127, Error: "x"}, State{Status: StatusCreated, ExitCode: 127}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeState(dir, tt.in); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second read sees the repaired file
				st, err := ReadState(dir)
				if err != nil || st.Status != tt.want.Status || st.ExitCode != tt.want.ExitCode || st.Pid != tt.want.Pid {
					t.Fatalf("ReadState = %+v, %v; want %+v", st, err, tt.want)
				}
			}
			lost := tt.want.Status == StatusExited && tt.in.Status != StatusExited
			if lost {
				st, _ := readStateFile(dir)
				if st.Status != StatusExited || st.FinishedAt.IsZero() || st.Error == "" {
					t.Errorf("file not repaired: %+v", st)
				}
			}
			if NeedsRepair(dir) != lost {
				t.Errorf("NeedsRepair = %v, want %v", !lost, lost)
			}
		})
	}
}

func TestReadStateMissingOrCorrupt(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(dir); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing state: %v, want ErrNotFound", err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{trunc"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(dir)
	if err != nil || st.Status != StatusExited || st.ExitCode != 255 {
		t.Errorf("corrupt state: %+v, %v", st, err)
	}
}

func TestProcessEnv(t *testing.T) {
	got := processEnv([]string{"A=1"}, "h")
	want := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=h", "A=1"}
	if !slices.Equal(got, want) {
		t.Errorf("processEnv = %q, want %q", got, want)
	}
	got = processEnv([]string{"PATH=/x"}, "h")
	if !slices.Equal(got, []string{"HOSTNAME=h", "PATH=/x"}) {
		t.Errorf("processEnv with PATH = %q", got)
	}
}

func TestOCISpecDefaults(t *testing.T) {
	s := &Spec{ID: "abc", Hostname: "h", Args: []string{"sh"}, NetNS: "/run/netns/x",
		Mounts: []Mount{{Source: "/a", Destination: "/b", ReadOnly: true}}}
	spec := ociSpec(s, "/rootfs")
	if spec.Linux.CgroupsPath != "/compose/abc" {
		t.Errorf("cgroups path %q", spec.Linux.CgroupsPath)
	}
	var netns string
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == "network" {
			netns = ns.Path
		}
	}
	if netns != "/run/netns/x" {
		t.Errorf("netns path %q", netns)
	}
	last := spec.Mounts[len(spec.Mounts)-1]
	if last.Destination != "/b" || !slices.Contains(last.Options, "ro") || !slices.Contains(last.Options, "rbind") {
		t.Errorf("bind mount %+v", last)
	}
	if len(spec.Process.Capabilities.Bounding) != 14 {
		t.Errorf("caps %v", spec.Process.Capabilities.Bounding)
	}
}

// The service's annotations are the OCI spec's, which runc keeps as the
// container's "key=value" labels, as Docker hands them to its runtime
// (HostConfig.Annotations, moby daemon/oci_linux.go WithAnnotations).
func TestAnnotationsInRuntimeSpec(t *testing.T) {
	s := &Spec{ID: "abc", Hostname: "h", Args: []string{"sh"}, NetNS: "/run/netns/x",
		Annotations: map[string]string{"com.example.team": "infra"}}
	if got := ociSpec(s, "/rootfs").Annotations; got["com.example.team"] != "infra" {
		t.Fatalf("OCI annotations = %v", got)
	}
	cfg, err := libcontainerConfig(s, "/rootfs")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.Labels, "com.example.team=infra") {
		t.Errorf("libcontainer labels = %q", cfg.Labels)
	}
}
