package container

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/composer-dev/compose/internal/testutil"
)

func TestOwnCgroupProcsListsUs(t *testing.T) {
	path := ownCgroupProcs()
	if path == "" {
		t.Skip("no cgroup of our own")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(data)), strconv.Itoa(os.Getpid())) {
		t.Errorf("%s does not list us (pid %d)", path, os.Getpid())
	}
}

// TestPrimingIsSharedAndStops: concurrent starts share one loop, which ends
// with the last of them, and priming leaves us in our cgroup.
func TestPrimingIsSharedAndStops(t *testing.T) {
	testutil.RequiresRoot(t)
	if ownCgroupProcs() == "" {
		t.Skip("no cgroup of our own")
	}
	before, _ := os.ReadFile("/proc/self/cgroup")
	stop1 := primeCgroupMigrations()
	stop2 := primeCgroupMigrations()
	primer.mu.Lock()
	users, done := primer.users, primer.done
	primer.mu.Unlock()
	if users != 2 {
		t.Fatalf("%d users, want 2", users)
	}
	stop1()
	stop1() // stopping twice counts once
	select {
	case <-done:
		t.Fatal("the loop stopped while a start still needs it")
	case <-time.After(3 * primeEvery):
	}
	stop2()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the loop did not stop with its last user")
	}
	if after, _ := os.ReadFile("/proc/self/cgroup"); string(after) != string(before) {
		t.Errorf("priming moved us:\n%s\nnow\n%s", before, after)
	}
}

// BenchmarkCgroupMigration: moving a process into a new cgroup, as
// libcontainer does with each container's init, cold and while primed.
func BenchmarkCgroupMigration(b *testing.B) {
	testutil.RequiresRoot(b)
	own := ownCgroupProcs()
	if own == "" {
		b.Skip("no cgroup of our own")
	}
	child := filepath.Join(filepath.Dir(own), "compose-bench-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(child, 0o755); err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { os.Remove(child) })
	sleep := exec.Command("sleep", "600")
	if err := sleep.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pid := []byte(strconv.Itoa(sleep.Process.Pid))
	for _, primed := range []bool{false, true} {
		b.Run(map[bool]string{false: "cold", true: "primed"}[primed], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				time.Sleep(50 * time.Millisecond) // let the lock go idle
				stop := func() {}
				if primed {
					stop = primeCgroupMigrations()
					time.Sleep(20 * time.Millisecond) // what a start does meanwhile
				}
				b.StartTimer()
				if !writeProcs(filepath.Join(child, "cgroup.procs"), pid) {
					b.Fatal("cannot move the process")
				}
				b.StopTimer()
				stop()
				if !writeProcs(own, pid) {
					b.Fatal("cannot move the process back")
				}
				b.StartTimer()
			}
		})
	}
}
