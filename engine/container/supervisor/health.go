package supervisor

import "time"

// Docker keeps the last 5 probes and 4 KiB of each one's output.
const (
	healthLogEntries = 5
	healthOutputMax  = 4096
)

// clock is time as the scheduling logic sees it; tests inject a fake one.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// withDefaults fills in Docker's defaults for zero fields.
func (c Healthcheck) withDefaults() Healthcheck {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries <= 0 {
		c.Retries = DefaultRetries
	}
	if c.StartInterval <= 0 {
		c.StartInterval = DefaultStartInterval
	}
	return c
}

// healthState is the health of one run of the container, updated with each
// probe the way Docker does it.
type healthState struct {
	check   Healthcheck // with defaults
	started time.Time   // when the container started
	health  Health
}

func newHealthState(check Healthcheck, started time.Time) *healthState {
	return &healthState{check: check.withDefaults(), started: started, health: Health{Status: HealthStarting}}
}

// interval is how long to wait before the next probe: start_interval while
// the container is starting within its start period, interval otherwise.
func (h *healthState) interval(now time.Time) time.Duration {
	if now.Sub(h.started) < h.check.StartPeriod && h.health.Status == HealthStarting {
		return h.check.StartInterval
	}
	return h.check.Interval
}

// record applies one probe: a success makes the container healthy; failures
// in a row make it unhealthy after Retries, except that failures during the
// start period do not count until a probe has succeeded.
func (h *healthState) record(r HealthResult) {
	if len(r.Output) > healthOutputMax {
		r.Output = r.Output[:healthOutputMax]
	}
	h.health.Log = append(h.health.Log, r)
	if n := len(h.health.Log); n > healthLogEntries {
		h.health.Log = append([]HealthResult(nil), h.health.Log[n-healthLogEntries:]...)
	}
	if r.ExitCode == 0 {
		h.health.FailingStreak = 0
		h.health.Status = HealthHealthy
		return
	}
	if h.health.Status == HealthStarting && r.Start.Sub(h.started) < h.check.StartPeriod {
		return
	}
	h.health.FailingStreak++
	if h.health.FailingStreak >= h.check.Retries {
		h.health.Status = HealthUnhealthy
	}
}

// snapshot is a copy safe to hand to the state writer.
func (h *healthState) snapshot() *Health {
	c := h.health
	c.Log = append([]HealthResult(nil), h.health.Log...)
	return &c
}

// timedOut is the result Docker records for a probe that ran too long.
func timedOut(start, end time.Time, timeout time.Duration) HealthResult {
	return HealthResult{Start: start, End: end, ExitCode: -1, Output: "Health check exceeded timeout (" + timeout.String() + ")"}
}

// healthLoop probes until stop is closed, reporting each new health.
func healthLoop(clk clock, h *healthState, stop <-chan struct{}, probe func(timeout time.Duration) HealthResult, update func(*Health)) {
	for {
		select {
		case <-stop:
			return
		case <-clk.After(h.interval(clk.Now())):
		}
		r := probe(h.check.Timeout)
		select {
		case <-stop: // the container exited during the probe: its result means nothing
			return
		default:
		}
		h.record(r)
		update(h.snapshot())
	}
}
