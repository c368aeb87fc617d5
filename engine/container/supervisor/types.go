package supervisor

import "time"

// Status is a container's lifecycle state, named like Docker's.
type Status string

// The statuses a container goes through.
const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusRestarting Status = "restarting" // exited; the restart policy starts it again after a back-off
	StatusExited     Status = "exited"
)

// State is what the supervisor records in Dir/state.json.
type State struct {
	Status       Status
	Pid          int // the container's init, as seen from the host
	ExitCode     int
	OOMKilled    bool
	StartedAt    time.Time
	FinishedAt   time.Time
	Error        string  // why the start failed or the supervisor died
	RestartCount int     `json:",omitempty"` // restarts by the restart policy since the last Start
	Health       *Health `json:",omitempty"` // nil without a healthcheck

	// SupervisorPid and SupervisorStart (its start time in clock ticks since
	// boot) identify the live supervisor, so a dead one is noticed even if its
	// pid was reused. InitStart does the same for Pid.
	SupervisorPid   int    `json:",omitempty"`
	SupervisorStart uint64 `json:",omitempty"`
	InitStart       uint64 `json:",omitempty"`
}

// Active reports whether a supervisor claims to look after the container
// (it may have died since: container.ReadState checks it is alive).
func (s State) Active() bool {
	return s.SupervisorPid != 0 && (s.Status == StatusRunning || s.Status == StatusCreated || s.Status == StatusRestarting)
}

// Live reports whether the container runs, is being started, or waits for
// its restart policy to start it again.
func (s State) Live() bool { return s.Status == StatusRunning || s.Active() }

// Health is the healthcheck's state, as Docker's inspect shows it.
type Health struct {
	Status        string // HealthStarting, HealthHealthy or HealthUnhealthy
	FailingStreak int
	Log           []HealthResult // the last few probes, oldest first
}

// The health statuses.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// HealthResult is one probe.
type HealthResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int // -1 when the probe timed out or could not run
	Output   string
}

// RestartPolicy is Docker's restart policy; the zero value is "no".
type RestartPolicy struct {
	Name       string        // RestartNo (or ""), RestartAlways, RestartOnFailure, RestartUnlessStopped
	MaxRetries int           // on-failure: restarts allowed; 0 = unlimited
	Delay      time.Duration // fixed wait between restarts (deploy.restart_policy.delay); 0 = Docker's back-off
	Window     time.Duration // count only the restarts within this window toward MaxRetries; 0 = all
}

// The restart policy names.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartOnFailure     = "on-failure"
	RestartUnlessStopped = "unless-stopped"
)

// Healthcheck is a container's health test, run by the supervisor inside
// the container. Zero durations and retries take Docker's defaults.
type Healthcheck struct {
	Test          []string // argv run in the container (CMD-SHELL already turned into the shell's argv)
	Interval      time.Duration
	Timeout       time.Duration
	Retries       int
	StartPeriod   time.Duration
	StartInterval time.Duration
}

// Docker's healthcheck defaults.
const (
	DefaultInterval      = 30 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultRetries       = 3
	DefaultStartInterval = 5 * time.Second
)

// LogOptions say where the container's output goes (Docker's json-file
// format) and how the file rotates.
type LogOptions struct {
	Driver  string // "" or LogJSONFile: a json-file log; LogNone: no log file
	MaxSize int64  // bytes after which the file rotates; 0 = never
	MaxFile int    // files kept, the live one included; 0 = 1
}

// The log drivers the supervisor writes.
const (
	LogJSONFile = "json-file"
	LogNone     = "none"
)

// Entry points of the full binary that the supervisor runs, and the files
// in the container's directory.
const (
	CreateArg     = "__create"      // <exe> __create DIR: create and start the container, report, exit
	CleanupArg    = "__cleanup"     // <exe> __cleanup DIR: destroy the container and its network
	ExecHealthArg = "__exec-health" // <exe> __exec-health DIR ARG...: run a probe in the container

	SpecFile  = "spec.json"
	StateFile = "state.json"
	// StopFile marks a stop requested by the user: the restart policy does
	// not apply to the exit that follows.
	StopFile = "stop-requested"
	// RemoveFile marks a container whose remover tears it down right after
	// the exit (`down`): the supervisor records the exit without running
	// __cleanup, so the teardown is not done twice.
	RemoveFile = "remove-requested"
	// RepairFile marks a run whose supervisor died without tearing it down
	// (killed, or the host rebooted): what it holds (mounts, network,
	// cgroup) is removed by the next command, or by the next start.
	RepairFile = "repair-needed"
	// PausedFile is present while the user has the container paused: a
	// freezer's state raises no inotify event on cgroup v1, so watchers
	// (`events`) look at this instead.
	PausedFile = "paused"
)

// The fds of a __create child.
const (
	CreateReportFD  = 3 // the child writes one CreateReport here
	CreateStdinFD   = 4 // the container's stdin (a pipe or /dev/null)
	CreateStdoutFD  = 5 // the container's stdout pipe, or with a tty the console socket
	CreateStderrFD  = 6 // the container's stderr pipe (unused with a tty)
	createFDsNeeded = 7
	// CreateGateFD, when GateFDEnv is set, is the start gate: the
	// container is created, and its process starts once a byte arrives
	// there; end of file cancels the start.
	CreateGateFD = 7
)

// GateFDEnv names the supervisor's inherited start gate fd (a pipe's read
// end); only its first run is gated. In __create's environment it says the
// gate is at CreateGateFD.
const GateFDEnv = "_COMPOSE_GATE_FD"

// CreateReport is what __create tells the supervisor.
type CreateReport struct {
	Pid     int    `json:",omitempty"` // the container's init
	OOMFile string `json:",omitempty"` // the cgroup file whose oom_kill counter flags an OOM kill
	Ready
}

// Ready is the supervisor's one report to the process that started it.
type Ready struct {
	Error    string `json:",omitempty"`
	Class    string `json:",omitempty"` // an errdefs class name
	ExitCode int    `json:",omitempty"` // what Docker records for such a failed start
}

// ReadyFDEnv names the inherited fd on which the supervisor reports Ready.
const ReadyFDEnv = "_COMPOSE_READY_FD"

// TuningEnv is added to the supervisor's environment: Go runtime settings
// that must be in place before the runtime starts.
func TuningEnv() []string { return append([]string(nil), tuningEnv...) }

var tuningEnv = []string{"GOMAXPROCS=1"}
