package supervisor

import (
	"bytes"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// reaper collects the exit of every child: the ones we start and the
// container's init, adopted when __create exits (we are a subreaper). One
// wait4(-1) loop does it all, so os/exec's per-child Wait is never used.
//
// The loop runs when a watched process exits, seen through a pidfd in Go's
// poller, and every orphanSweep for orphans adopted from the container.
// Not signal.Notify(SIGCHLD): it costs every supervisor two more threads
// (os/signal's locked one and the runtime's template thread) and ~230 KiB.
// Kernels without pidfds (before 5.10) get SIGCHLD instead.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]chan unix.WaitStatus
	sigchld bool // reaping on SIGCHLD: no pidfds
}

// orphanSweep is how often exited orphans (not watched) are reaped.
const orphanSweep = 2 * time.Second

func newReaper() *reaper {
	r := &reaper{waiting: map[int]chan unix.WaitStatus{}}
	if fd, err := unix.PidfdOpen(os.Getpid(), unix.PIDFD_NONBLOCK); err == nil {
		unix.Close(fd)
		go func() {
			for range time.Tick(orphanSweep) {
				r.reap()
			}
		}()
		return r
	}
	r.sigchld = true
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, unix.SIGCHLD)
	go func() {
		for range sigc {
			r.reap()
		}
	}()
	return r
}

// onExit reaps as soon as pid exits. A pid that is not yet our child (the
// init, until __create exits) is reaped when its parent's exit is, or at
// the latest by the orphan sweep.
func (r *reaper) onExit(pid int) {
	if r.sigchld {
		return
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		go r.reap() // gone already (ESRCH): it is a zombie to reap
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	go func() {
		defer f.Close()
		// A pidfd turns readable when its process exits; the poller waits
		// for that without a thread. The check must look at the pidfd
		// itself: a readiness that came before the wait is not kept.
		if rc, err := f.SyscallConn(); err == nil {
			_ = rc.Read(func(fd uintptr) bool {
				pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, err := unix.Poll(pfd, 0)
				return err != nil && err != unix.EINTR || n > 0
			})
		}
		r.reap()
	}()
}

// reap collects every exited child; exits nobody waits for (orphans of
// probes) are dropped.
func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.mu.Lock()
		ch := r.waiting[pid]
		delete(r.waiting, pid)
		r.mu.Unlock()
		if ch != nil {
			ch <- ws
		}
	}
}

// watch registers pid (our child, or soon adopted) and returns where its
// wait status will arrive. Call it before the process can be reaped.
func (r *reaper) watch(pid int) <-chan unix.WaitStatus {
	ch := make(chan unix.WaitStatus, 1)
	r.mu.Lock()
	r.waiting[pid] = ch
	r.mu.Unlock()
	r.onExit(pid)
	// It may have exited, unreaped, before we registered.
	go r.reap()
	return ch
}

// start starts a child with files as fds 0, 1, 2, ... and returns its pid
// and where its wait status will arrive. The lock is held across the fork,
// so the exit cannot be reaped before it is registered.
func (r *reaper) start(argv []string, files []*os.File) (int, <-chan unix.WaitStatus, error) {
	ch := make(chan unix.WaitStatus, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Dir: "/", Env: os.Environ(), Files: files})
	if err != nil {
		return 0, nil, err
	}
	pid := p.Pid // Release sets p.Pid to -1: kill(-1) would signal every process
	r.waiting[pid] = ch
	r.onExit(pid)
	_ = p.Release() // we reap it; the handle (a pidfd) is not needed
	return pid, ch, nil
}

// exitCode turns a wait status into Docker's exit code: 128+N for signal N.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// ProcStart returns a process's start time (clock ticks since boot), or 0
// if it does not exist or is a zombie.
func ProcStart(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces and parens: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fields := bytes.Fields(b[i+1:])
	// After ')': state is field 3 overall, starttime is field 22.
	if len(fields) < 20 || string(fields[0]) == "Z" {
		return 0
	}
	n, _ := strconv.ParseUint(string(fields[19]), 10, 64)
	return n
}

// killPid signals one process; never a group or every process (pid <= 0),
// nor init.
func killPid(pid int, sig unix.Signal) {
	if pid > 1 {
		_ = unix.Kill(pid, sig)
	}
}
