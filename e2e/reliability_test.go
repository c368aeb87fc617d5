package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNoInheritedDescriptors: the processes `up` leaves running (the
// supervisors and the DNS server) do not hold the caller's descriptors, so
// a caller reading a pipe it gave compose sees its end once compose exits.
func TestNoInheritedDescriptors(t *testing.T) {
	t.Parallel()
	c := newProject(t, `
services:
  app:
    image: busybox
    init: true
    command: ["sleep", "600"]
`)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := c.command(context.Background(), "up", "-d")
	// fd 9 of compose, without close-on-exec: above the descriptors compose
	// hands its children on purpose (3 and 4), which would replace it.
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd.ExtraFiles = []*os.File{null, null, null, null, null, null, w}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("up -d: %v\n%s", err, out)
	}
	pipe, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", w.Fd()))
	w.Close()
	eof := make(chan error, 1)
	go func() { _, err := io.ReadAll(r); eof <- err }()
	select {
	case err := <-eof:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the pipe is still held open by: %v", holders(pipe))
	}
}

// holders lists the processes with a descriptor on target ("pipe:[N]").
func holders(target string) []string {
	var out []string
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && l == target {
			cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(fd)), "cmdline"))
			out = append(out, fd+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}
