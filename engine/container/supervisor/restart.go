package supervisor

import "time"

// Docker's restart back-off: 100 ms doubling up to a minute, back to the
// start once the container ran for 10 s.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

// restarter applies a restart policy to the exits of one container.
type restarter struct {
	policy  RestartPolicy
	backoff time.Duration
	count   int         // restarts so far
	times   []time.Time // when they happened, for the window
}

// next decides whether the container that exited with code after running
// for ran is started again, and after how long. stopped means the user
// stopped it: no policy restarts it then.
func (r *restarter) next(code int, ran time.Duration, stopped bool, now time.Time) (time.Duration, bool) {
	if stopped {
		return 0, false
	}
	if ran >= backoffReset {
		r.backoff = 0
	}
	switch {
	case r.backoff == 0:
		r.backoff = backoffStart
	case r.backoff < backoffMax:
		r.backoff = min(2*r.backoff, backoffMax)
	}
	var restart bool
	switch r.policy.Name {
	case RestartAlways, RestartUnlessStopped:
		restart = true
	case RestartOnFailure:
		restart = code != 0 && (r.policy.MaxRetries <= 0 || r.counted(now) < r.policy.MaxRetries)
	}
	if !restart {
		return 0, false
	}
	r.count++
	r.times = append(r.times, now)
	if r.policy.Delay > 0 {
		return r.policy.Delay, true
	}
	return r.backoff, true
}

// counted is how many restarts count toward MaxRetries: all, or those
// within the window.
func (r *restarter) counted(now time.Time) int {
	if r.policy.Window <= 0 {
		return len(r.times)
	}
	n := 0
	for _, t := range r.times {
		if now.Sub(t) < r.policy.Window {
			n++
		}
	}
	return n
}
