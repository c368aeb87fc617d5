package container

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Moving a process into a cgroup (what libcontainer does with the
// container's init, once per hierarchy) takes the kernel's cgroup threadgroup
// lock for writing, and a writer that finds the lock idle first waits for an
// RCU grace period: ~7 ms here, on every container start. Once a writer has
// been through, writers that follow within about one grace period pass
// straight away. primeCgroupMigrations keeps the lock in that state while a
// container starts, by moving this process into the cgroup it is already in
// (a no-op migration) every primeEvery, so the grace period is waited for in
// the background, overlapping the rest of the start, instead of in the
// middle of it.
const (
	primeEvery = 2 * time.Millisecond
	primeMax   = 5 * time.Second // a bound, should the caller never stop it
)

// primer is the process's one priming loop, shared by the starts under
// way (`up` starts many containers at once: one writer is enough).
var primer struct {
	mu    sync.Mutex
	users int
	done  chan struct{}
}

// primeCgroupMigrations starts priming, unless it runs already, and returns
// the function that ends this caller's need for it. Without a writable
// cgroup of our own it does nothing.
func primeCgroupMigrations() (stop func()) {
	primer.mu.Lock()
	defer primer.mu.Unlock()
	if primer.users == 0 {
		path := ownCgroupProcs()
		if path == "" {
			return func() {}
		}
		primer.done = make(chan struct{})
		go prime(path, primer.done)
	}
	primer.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			primer.mu.Lock()
			defer primer.mu.Unlock()
			if primer.users--; primer.users == 0 {
				close(primer.done)
			}
		})
	}
}

// prime moves this process into its own cgroup every primeEvery until done
// is closed, primeMax passes or a write fails.
func prime(path string, done <-chan struct{}) {
	pid := []byte(strconv.Itoa(os.Getpid()))
	t := time.NewTicker(primeEvery)
	defer t.Stop()
	deadline := time.Now().Add(primeMax)
	for time.Now().Before(deadline) {
		if !writeProcs(path, pid) {
			return
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

func writeProcs(path string, pid []byte) bool {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	_, err = f.Write(pid)
	return f.Close() == nil && err == nil
}

// ownCgroupProcs returns the cgroup.procs file of a cgroup this process is
// in: its cgroup v2 one, or on cgroup v1 its pids, freezer or devices one
// (mounted where systemd and Docker mount them).
func ownCgroupProcs() string {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	defer f.Close()
	var candidates []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		controllers, path := parts[1], parts[2]
		if controllers == "" {
			candidates = append(candidates,
				filepath.Join("/sys/fs/cgroup", path, "cgroup.procs"),
				filepath.Join("/sys/fs/cgroup/unified", path, "cgroup.procs"))
			continue
		}
		for _, c := range strings.Split(controllers, ",") {
			if c == "pids" || c == "freezer" || c == "devices" {
				candidates = append(candidates, filepath.Join("/sys/fs/cgroup", c, path, "cgroup.procs"))
			}
		}
	}
	// Only a file that lists us: writing our pid anywhere else would move us.
	pid := strconv.Itoa(os.Getpid())
	for _, c := range candidates {
		if data, err := os.ReadFile(c); err == nil && slices.Contains(strings.Fields(string(data)), pid) {
			return c
		}
	}
	return ""
}
