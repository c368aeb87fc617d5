// Package supervisor is the per-container supervisor process
// (cmd/compose-supervisor), kept small because one runs for every
// container: it becomes a subreaper, has the full binary create and start
// the container (`<exe> __create DIR`, which exits and leaves the
// container's init to us), holds the container's stdio and writes its log,
// serves attach, runs healthchecks, records the exit (code, OOM kill) in
// DIR/state.json, applies the restart policy and finally has the full binary
// tear the container down (`<exe> __cleanup DIR`).
//
// It must stay lean: it imports neither libcontainer nor the compose model,
// and links no net, fmt or encoding/json code (tests check both: those
// three would add about 0.7 MiB to every supervisor's RSS); everything
// heavy happens in short-lived children of the full binary.
package supervisor

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/composer-dev/compose/internal/store"
	"github.com/composer-dev/compose/logs/jsonfile"
)

// config is the part of DIR/spec.json the supervisor needs.
type config struct {
	ID      string
	Name    string
	Options struct{ Tty, OpenStdin bool }
	Restart RestartPolicy
	Health  *Healthcheck
	Log     LogOptions
	RunDir  string
	Exe     string // the full binary
}

// Main runs the supervisor for the container in args[0] and returns the
// process's exit code.
func Main(args []string) int {
	// One container's bookkeeping needs few threads (the starter also sets
	// GOMAXPROCS=1 so the runtime starts so). The heap is kept small once
	// the container runs (settle): collecting while starting would delay it.
	runtime.GOMAXPROCS(1)
	// Our children are the full binary: they get the default runtime settings.
	for _, k := range tuningEnv {
		name, _, _ := strings.Cut(k, "=")
		os.Unsetenv(name)
	}
	if len(args) != 1 {
		_, _ = os.Stderr.WriteString("usage: compose-supervisor CONTAINER_DIR\n")
		return 2
	}
	report := readyReporter()
	gate := inheritedGate()
	// The container's init is adopted by us when __create exits.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		report(Ready{Error: "supervisor: " + err.Error()})
		return 1
	}
	sv, err := newSupervisor(args[0])
	if err != nil {
		report(Ready{Error: err.Error()})
		return 1
	}
	sv.gate = gate
	sv.run(report)
	return 0
}

// settle keeps the heap of a running supervisor small: it lives as long
// as its container.
func settle() {
	debug.SetGCPercent(25)
	debug.SetMemoryLimit(4 << 20)
}

// supervisor looks after one container.
type supervisor struct {
	dir    string
	cfg    config
	clk    clock
	reaper *reaper
	log    *jsonfile.Writer // nil with the "none" driver
	attach *attachServer

	mu    sync.Mutex
	state State
	gate  *os.File // the start gate handed to the first __create, if any
}

func newSupervisor(dir string) (*supervisor, error) {
	cfg, err := readConfig(filepath.Join(dir, SpecFile))
	if err != nil {
		return nil, errors.New("container spec: " + err.Error())
	}
	if cfg.Exe == "" || cfg.ID == "" {
		return nil, errors.New("container spec in " + strconv.Quote(dir) + ": no binary or id")
	}
	sv := &supervisor{dir: dir, cfg: cfg, clk: realClock{}, reaper: newReaper()}
	if cfg.Log.Driver != LogNone {
		w, err := jsonfile.NewWriter(filepath.Join(dir, cfg.ID+"-json.log"), jsonfile.WriterOptions{MaxSize: cfg.Log.MaxSize, MaxFiles: cfg.Log.MaxFile})
		if err != nil {
			return nil, err
		}
		sv.log = w
	}
	return sv, nil
}

// run starts the container, reports to the starter, and keeps it running as
// the restart policy says; it returns once the container is gone for good.
func (sv *supervisor) run(report func(Ready)) {
	sock := AttachSocket(sv.cfg.RunDir, sv.cfg.ID)
	defer func() {
		if sv.attach != nil {
			sv.attach.close(sock)
		}
	}()
	if sv.log != nil {
		defer sv.log.Close()
	}
	// Done while __create starts (it is a big binary): attach must be served
	// and the state recorded by the time the container runs.
	setUp := func() {
		if a, err := listenAttach(sock); err == nil {
			sv.attach = a
		}
		sv.record(State{Status: StatusCreated})
	}
	rs := &restarter{policy: sv.cfg.Restart}
	first := true
	for {
		r, fail := sv.start(setUp)
		setUp = nil
		if fail != nil {
			st := State{Status: StatusExited, ExitCode: fail.ExitCode, Error: fail.Error, FinishedAt: sv.clk.Now().UTC(), RestartCount: rs.count}
			if first {
				st.Status = StatusCreated
				report(*fail)
			}
			sv.record(st)
			return
		}
		if first {
			report(Ready{})
			first = false
			settle()
		}
		// Starting took most of the memory we will ever use: give it back.
		debug.FreeOSMemory()
		code, oom := sv.wait(r)
		finished := sv.clk.Now()
		st := State{Status: StatusExited, ExitCode: code, OOMKilled: oom, StartedAt: r.started, FinishedAt: finished.UTC(), RestartCount: rs.count, Health: sv.health()}
		delay, again := rs.next(code, finished.Sub(r.started), sv.stopRequested(), finished)
		if !again {
			sv.record(st)
			return
		}
		st.Status, st.RestartCount = StatusRestarting, rs.count
		sv.record(st)
		if !sv.sleep(delay) {
			st.Status = StatusExited
			sv.record(st)
			return
		}
	}
}

// record writes the state; a supervisor is named in it while it looks
// after the container. Only the records that outlive the supervisor wait
// for the disk: the others are stale after a crash whatever they say (the
// supervisor named in them is gone), and the running one is on the path of
// every start.
func (sv *supervisor) record(st State) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	st.SupervisorPid, st.SupervisorStart = 0, 0
	if st.Status == StatusRunning || st.Status == StatusRestarting || st.Status == StatusCreated && st.Error == "" {
		st.SupervisorPid = os.Getpid()
		st.SupervisorStart = ProcStart(st.SupervisorPid)
	}
	sv.state = st
	path := filepath.Join(sv.dir, StateFile)
	if st.SupervisorPid != 0 {
		_ = store.WriteFileVolatile(path, encodeState(st), 0o600)
		return
	}
	_ = store.WriteFile(path, encodeState(st), 0o600)
}

// setHealth records a new health while the container runs.
func (sv *supervisor) setHealth(h *Health) {
	sv.mu.Lock()
	st := sv.state
	sv.mu.Unlock()
	if st.Status != StatusRunning {
		return
	}
	st.Health = h
	sv.record(st)
}

func (sv *supervisor) health() *Health {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.state.Health
}

func (sv *supervisor) stopRequested() bool {
	_, err := os.Stat(filepath.Join(sv.dir, StopFile))
	return err == nil
}

func (sv *supervisor) removeRequested() bool {
	_, err := os.Stat(filepath.Join(sv.dir, RemoveFile))
	return err == nil
}

// sleep waits out a restart delay; false if a stop was requested meanwhile.
func (sv *supervisor) sleep(d time.Duration) bool {
	const poll = 50 * time.Millisecond
	deadline := sv.clk.Now().Add(d)
	for {
		if sv.stopRequested() {
			return false
		}
		left := deadline.Sub(sv.clk.Now())
		if left <= 0 {
			return true
		}
		<-sv.clk.After(min(left, poll))
	}
}

// running is one run of the container.
type running struct {
	pid     int
	exited  <-chan unix.WaitStatus
	started time.Time
	oomFile string
	copies  sync.WaitGroup
	stdin   io.WriteCloser
}

// start has __create create and start the container with our pipes as its
// stdio, then adopts its init. meanwhile, if not nil, runs while __create
// starts up.
func (sv *supervisor) start(meanwhile func()) (*running, *Ready) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return sv.startFailed(err)
	}
	defer null.Close()
	cio, err := sv.openCreateIO(null)
	if err != nil {
		return sv.startFailed(err)
	}
	defer cio.closeChildEnds()
	if sv.gate != nil { // the first run starts when the starter says so
		cio.files = append(cio.files, sv.gate)
		cio.childEnds = append(cio.childEnds, sv.gate)
		sv.gate = nil
		os.Setenv(GateFDEnv, strconv.Itoa(CreateGateFD))
		defer os.Unsetenv(GateFDEnv)
	}
	_, created, err := sv.reaper.start([]string{sv.cfg.Exe, CreateArg, sv.dir}, cio.files)
	if err != nil {
		cio.closeOurs()
		return sv.startFailed(err)
	}
	cio.closeChildEnds()
	if meanwhile != nil {
		meanwhile()
	}

	r, failed := sv.adopt(cio.report, created)
	if failed != nil {
		cio.closeOurs()
		return nil, failed
	}
	// Its exit (it has nothing left to do) is reaped whenever it comes:
	// the init it leaves us is watched already.
	r.started = sv.clk.Now()
	if err := sv.connect(r, cio); err != nil {
		return sv.startFailed(err)
	}
	sv.markRunning(r)
	return r, nil
}

// startFailed is the report of a start that failed here, not in __create.
func (sv *supervisor) startFailed(err error) (*running, *Ready) {
	return nil, &Ready{Error: "container " + sv.name() + ": " + err.Error(), ExitCode: 128}
}

// createIO is what one __create gets on its fds, and our ends of it.
type createIO struct {
	files     []*os.File // the child's fds, from 0
	childEnds []*os.File // closed here once the child has started
	ours      []*os.File // closed here if the start fails
	report    *os.File   // our end of the report socket
	stdin     io.WriteCloser
	// The container's output: a pipe per stream, or the console socket
	// that the terminal's master comes through.
	outR, errR, console *os.File
}

// pair keeps track of both ends of a new pipe or socket pair.
func (c *createIO) pair(child, parent *os.File, err error) (*os.File, *os.File, error) {
	if err == nil {
		c.childEnds, c.ours = append(c.childEnds, child), append(c.ours, parent)
	}
	return child, parent, err
}

func (c *createIO) closeChildEnds() {
	for _, f := range c.childEnds {
		f.Close()
	}
	c.childEnds = nil
}

func (c *createIO) closeOurs() {
	for _, f := range c.ours {
		f.Close()
	}
}

// openCreateIO makes the report socket and the container's stdio: pipes,
// or with a terminal the console socket. On failure it closes what it made.
func (sv *supervisor) openCreateIO(null *os.File) (*createIO, error) {
	c := &createIO{}
	fail := func(err error) (*createIO, error) {
		c.closeOurs()
		c.closeChildEnds()
		return nil, err
	}
	repChild, repOurs, err := c.pair(socketPair("report"))
	if err != nil {
		return fail(err)
	}
	c.report = repOurs
	c.files = []*os.File{null, null, null, repChild, null, null, null}
	if sv.cfg.Options.OpenStdin && !sv.cfg.Options.Tty {
		r, w, err := c.pair(os.Pipe())
		if err != nil {
			return fail(err)
		}
		c.files[CreateStdinFD], c.stdin = r, w
	}
	if sv.cfg.Options.Tty {
		child, ours, err := c.pair(socketPair("console"))
		if err != nil {
			return fail(err)
		}
		c.files[CreateStdoutFD], c.console = child, ours
		return c, nil
	}
	w, r, err := pipeReversed()
	if err == nil {
		_, _, _ = c.pair(w, r, nil)
		c.files[CreateStdoutFD], c.outR = w, r
		w, r, err = pipeReversed()
		if err == nil {
			_, _, _ = c.pair(w, r, nil)
			c.files[CreateStderrFD], c.errR = w, r
		}
	}
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// adopt reads __create's report and acks it, so that __create exits and
// leaves the container's init to us. When __create failed (it undid what
// it did before it exits) or died, the report says why.
func (sv *supervisor) adopt(report *os.File, created <-chan unix.WaitStatus) (*running, *Ready) {
	rep, err := readCreateReport(report)
	if err != nil {
		ws := <-created
		created = nil
		rep = CreateReport{}
		rep.Error = "container " + sv.name() + ": create exited (" + strconv.Itoa(exitCode(ws)) + ") before reporting"
	}
	r := &running{pid: rep.Pid, oomFile: rep.OOMFile}
	if rep.Error == "" {
		// Watch the init before __create exits and hands it to us.
		r.exited = sv.reaper.watch(rep.Pid)
	}
	_, _ = report.Write([]byte{1}) // ack: __create may exit now
	report.Close()
	if rep.Error != "" {
		if created != nil {
			<-created // it undid what it did
		}
		return nil, &rep.Ready
	}
	return r, nil
}

// connect hands the run's stdio to attach and starts copying its output
// to the log. With a terminal it first takes the master from the console
// socket; failing that, the container is killed and torn down.
func (sv *supervisor) connect(r *running, cio *createIO) error {
	stdin, outR := cio.stdin, cio.outR
	var tty *os.File
	if cio.console != nil {
		var err error
		tty, err = recvFD(cio.console)
		cio.console.Close()
		if err != nil {
			killPid(r.pid, unix.SIGKILL)
			<-r.exited
			sv.cleanup()
			return errors.New("terminal: " + err.Error())
		}
		outR = tty
		if sv.cfg.Options.OpenStdin {
			stdin = tty
		}
	}
	r.stdin = stdin
	if sv.attach != nil {
		sv.attach.setIO(stdin, tty)
	}
	sv.copy(r, "stdout", FrameStdout, outR)
	if cio.errR != nil {
		sv.copy(r, "stderr", FrameStderr, cio.errR)
	}
	return nil
}

// markRunning records the run as running, with a starting health when
// there is a healthcheck.
func (sv *supervisor) markRunning(r *running) {
	sv.mu.Lock()
	restarts := sv.state.RestartCount
	sv.mu.Unlock()
	running := State{Status: StatusRunning, Pid: r.pid, InitStart: ProcStart(r.pid), StartedAt: r.started.UTC(), RestartCount: restarts}
	if sv.cfg.Health != nil && len(sv.cfg.Health.Test) > 0 {
		running.Health = &Health{Status: HealthStarting}
	}
	sv.record(running)
	if sv.stopRequested() {
		// Stop came while we were (re)starting it and found nothing to signal.
		killPid(r.pid, unix.SIGKILL)
	}
}

// wait runs the healthcheck until the container's init exits, then tears
// the run down and returns the exit code and whether the OOM killer struck.
func (sv *supervisor) wait(r *running) (int, bool) {
	stop := make(chan struct{})
	var probes sync.WaitGroup
	if hc := sv.cfg.Health; hc != nil && len(hc.Test) > 0 {
		probes.Add(1)
		go func() {
			defer probes.Done()
			healthLoop(sv.clk, newHealthState(*hc, r.started), stop, sv.probe, sv.setHealth)
		}()
	}
	ws := <-r.exited
	close(stop)
	code := exitCode(ws)
	oom := oomKilled(r.oomFile)
	if !sv.removeRequested() {
		sv.cleanup()
	}
	probes.Wait()
	// With a private pid namespace the kernel killed the rest of the
	// container with its init, and cleanup emptied the cgroup: the pipes
	// reach EOF.
	r.copies.Wait()
	if r.stdin != nil {
		r.stdin.Close()
	}
	if sv.attach != nil {
		sv.attach.endRun()
	}
	return code, oom
}

// cleanup has the full binary destroy the container and release its network.
func (sv *supervisor) cleanup() {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer null.Close()
	if _, done, err := sv.reaper.start([]string{sv.cfg.Exe, CleanupArg, sv.dir}, []*os.File{null, null, null}); err == nil {
		<-done
	}
}

// copy drains one of the container's streams into the log and attach clients.
func (sv *supervisor) copy(r *running, stream string, kind byte, src *os.File) {
	var dst io.WriteCloser
	if sv.log != nil {
		dst = sv.log.Stream(stream)
	}
	r.copies.Add(1)
	go func() {
		defer r.copies.Done()
		defer src.Close()
		buf := make([]byte, 8192)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if dst != nil {
					_, _ = dst.Write(buf[:n])
				}
				if sv.attach != nil {
					sv.attach.broadcast(kind, buf[:n])
				}
			}
			if err != nil { // EOF, or EIO from a terminal whose other side is gone
				break
			}
		}
		if dst != nil {
			dst.Close()
		}
	}()
}

// probe runs the healthcheck's test once in the container.
func (sv *supervisor) probe(timeout time.Duration) HealthResult {
	start := sv.clk.Now()
	res := HealthResult{Start: start, ExitCode: -1}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		res.End, res.Output = sv.clk.Now(), err.Error()
		return res
	}
	defer null.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		res.End, res.Output = sv.clk.Now(), err.Error()
		return res
	}
	argv := append([]string{sv.cfg.Exe, ExecHealthArg, sv.dir}, sv.cfg.Health.Test...)
	pid, done, err := sv.reaper.start(argv, []*os.File{null, outW, outW})
	outW.Close()
	if err != nil {
		outR.Close()
		res.End, res.Output = sv.clk.Now(), err.Error()
		return res
	}
	outc := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(outR, healthOutputMax))
		_, _ = io.Copy(io.Discard, outR)
		outR.Close()
		outc <- string(b)
	}()
	select {
	case ws := <-done:
		res.ExitCode = exitCode(ws)
		res.Output = <-outc
		res.End = sv.clk.Now()
		return res
	case <-time.After(timeout):
	}
	// __exec-health kills the probe in the container on SIGTERM.
	killPid(pid, unix.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		killPid(pid, unix.SIGKILL)
		<-done
	}
	<-outc
	return timedOut(start, sv.clk.Now(), timeout)
}

func (sv *supervisor) name() string {
	if sv.cfg.Name != "" {
		return sv.cfg.Name
	}
	return sv.cfg.ID[:min(12, len(sv.cfg.ID))]
}

// oomKilled reads the oom_kill counter of the container's memory cgroup
// (memory.events in v2, memory.oom_control in v1).
func oomKilled(file string) bool {
	if file == "" {
		return false
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.Atoi(v)
			return n > 0
		}
	}
	return false
}

// pipeReversed returns a pipe's write end first: the child's end.
func pipeReversed() (w, r *os.File, err error) {
	r, w, err = os.Pipe()
	return w, r, err
}

// socketPair returns two connected unix stream sockets: the child's, ours.
func socketPair(name string) (*os.File, *os.File, error) {
	// Non-blocking, so reading ours goes through Go's poller instead of
	// parking a thread (the child's end is made blocking when passed on).
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, nil, errors.New(name + " socket: " + err.Error())
	}
	return os.NewFile(uintptr(fds[0]), name), os.NewFile(uintptr(fds[1]), name), nil
}

// recvFD receives the terminal's master that the container's init sends
// over the console socket. It was sent before __create reported.
func recvFD(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096) // the pty's name
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("no terminal received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("no terminal received")
	}
	// Non-blocking, so that reads and writes go through Go's poller.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "tty"), nil
}

// inheritedGate takes the start gate the starter passed, if any.
func inheritedGate() *os.File {
	n, err := strconv.Atoi(os.Getenv(GateFDEnv))
	os.Unsetenv(GateFDEnv)
	if err != nil || n < 3 {
		return nil
	}
	unix.CloseOnExec(n)
	return os.NewFile(uintptr(n), "gate")
}

// readyReporter returns a function that sends the one report to the
// starter, or does nothing when there is none.
func readyReporter() func(Ready) {
	n, err := strconv.Atoi(os.Getenv(ReadyFDEnv))
	os.Unsetenv(ReadyFDEnv)
	if err != nil || n < 3 {
		return func(Ready) {}
	}
	f := os.NewFile(uintptr(n), "ready")
	unix.CloseOnExec(n)
	var once sync.Once
	return func(m Ready) {
		once.Do(func() {
			_, _ = f.Write(append(encodeReady(m), '\n'))
			f.Close()
		})
	}
}
