package supervisor

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRestarter(t *testing.T) {
	type exit struct {
		code    int
		ran     time.Duration
		stopped bool
		after   time.Duration // since the previous exit
	}
	type want struct {
		restart bool
		delay   time.Duration
	}
	tests := []struct {
		name   string
		policy RestartPolicy
		exits  []exit
		want   []want
	}{
		{"no", RestartPolicy{Name: RestartNo}, []exit{{code: 1}}, []want{{false, 0}}},
		{"zero value is no", RestartPolicy{}, []exit{{code: 1}}, []want{{false, 0}}},
		{"always backs off", RestartPolicy{Name: RestartAlways},
			[]exit{{code: 0}, {code: 0}, {code: 1}, {code: 0}},
			[]want{{true, 100 * time.Millisecond}, {true, 200 * time.Millisecond}, {true, 400 * time.Millisecond}, {true, 800 * time.Millisecond}}},
		{"back-off resets after 10s of running", RestartPolicy{Name: RestartAlways},
			[]exit{{code: 1}, {code: 1}, {code: 1, ran: 10 * time.Second}},
			[]want{{true, 100 * time.Millisecond}, {true, 200 * time.Millisecond}, {true, 100 * time.Millisecond}}},
		{"always stops when stopped", RestartPolicy{Name: RestartAlways}, []exit{{code: 0, stopped: true}}, []want{{false, 0}}},
		{"unless-stopped", RestartPolicy{Name: RestartUnlessStopped},
			[]exit{{code: 0}, {code: 137, stopped: true}}, []want{{true, 100 * time.Millisecond}, {false, 0}}},
		{"on-failure ignores success", RestartPolicy{Name: RestartOnFailure}, []exit{{code: 0}}, []want{{false, 0}}},
		{"on-failure:2", RestartPolicy{Name: RestartOnFailure, MaxRetries: 2},
			[]exit{{code: 1}, {code: 1}, {code: 1}},
			[]want{{true, 100 * time.Millisecond}, {true, 200 * time.Millisecond}, {false, 0}}},
		{"fixed delay", RestartPolicy{Name: RestartAlways, Delay: 3 * time.Second},
			[]exit{{code: 1}, {code: 1}}, []want{{true, 3 * time.Second}, {true, 3 * time.Second}}},
		{"window forgets old restarts", RestartPolicy{Name: RestartOnFailure, MaxRetries: 1, Window: time.Minute},
			[]exit{{code: 1}, {code: 1, after: time.Second}, {code: 1, after: 2 * time.Minute}},
			[]want{{true, 100 * time.Millisecond}, {false, 0}, {true, 400 * time.Millisecond}}},
		{"back-off is capped at a minute", RestartPolicy{Name: RestartAlways},
			[]exit{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}},
			[]want{{true, 100 * time.Millisecond}, {true, 200 * time.Millisecond}, {true, 400 * time.Millisecond}, {true, 800 * time.Millisecond},
				{true, 1600 * time.Millisecond}, {true, 3200 * time.Millisecond}, {true, 6400 * time.Millisecond}, {true, 12800 * time.Millisecond},
				{true, 25600 * time.Millisecond}, {true, 51200 * time.Millisecond}, {true, time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &restarter{policy: tt.policy}
			now := time.Unix(1000, 0)
			for i, e := range tt.exits {
				now = now.Add(e.after)
				delay, again := r.next(e.code, e.ran, e.stopped, now)
				if again != tt.want[i].restart || delay != tt.want[i].delay {
					t.Errorf("exit %d: restart %v after %v, want %v after %v", i, again, delay, tt.want[i].restart, tt.want[i].delay)
				}
			}
		})
	}
}

func TestHealthState(t *testing.T) {
	start := time.Unix(1000, 0)
	ok := func(at time.Duration) HealthResult {
		return HealthResult{Start: start.Add(at), ExitCode: 0, Output: "ok"}
	}
	bad := func(at time.Duration) HealthResult {
		return HealthResult{Start: start.Add(at), ExitCode: 1, Output: "bad"}
	}
	tests := []struct {
		name    string
		check   Healthcheck
		results []HealthResult
		status  string
		streak  int
	}{
		{"starts starting", Healthcheck{}, nil, HealthStarting, 0},
		{"success is healthy", Healthcheck{}, []HealthResult{ok(time.Second)}, HealthHealthy, 0},
		{"retries failures make unhealthy", Healthcheck{Retries: 2}, []HealthResult{bad(1 * time.Second), bad(2 * time.Second)}, HealthUnhealthy, 2},
		{"fewer failures stay starting", Healthcheck{Retries: 3}, []HealthResult{bad(1 * time.Second), bad(2 * time.Second)}, HealthStarting, 2},
		{"success resets the streak", Healthcheck{Retries: 2}, []HealthResult{bad(1 * time.Second), ok(2 * time.Second), bad(3 * time.Second)}, HealthHealthy, 1},
		{"failures in the start period do not count", Healthcheck{Retries: 1, StartPeriod: 10 * time.Second}, []HealthResult{bad(1 * time.Second), bad(5 * time.Second)}, HealthStarting, 0},
		{"they count after it", Healthcheck{Retries: 1, StartPeriod: 10 * time.Second}, []HealthResult{bad(1 * time.Second), bad(11 * time.Second)}, HealthUnhealthy, 1},
		{"they count once healthy", Healthcheck{Retries: 1, StartPeriod: 10 * time.Second}, []HealthResult{ok(1 * time.Second), bad(2 * time.Second)}, HealthUnhealthy, 1},
		{"default retries are 3", Healthcheck{}, []HealthResult{bad(1), bad(2), bad(3)}, HealthUnhealthy, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHealthState(tt.check, start)
			for _, r := range tt.results {
				h.record(r)
			}
			if h.health.Status != tt.status || h.health.FailingStreak != tt.streak {
				t.Errorf("health = %s streak %d, want %s streak %d", h.health.Status, h.health.FailingStreak, tt.status, tt.streak)
			}
		})
	}
}

func TestHealthLogKeepsLastFive(t *testing.T) {
	h := newHealthState(Healthcheck{}, time.Unix(0, 0))
	for i := range 7 {
		h.record(HealthResult{ExitCode: i, Output: strings.Repeat("x", 5000)})
	}
	s := h.snapshot()
	if len(s.Log) != 5 || s.Log[0].ExitCode != 2 || s.Log[4].ExitCode != 6 {
		t.Fatalf("log = %d entries from %d, want the last 5", len(s.Log), s.Log[0].ExitCode)
	}
	if len(s.Log[0].Output) != 4096 {
		t.Errorf("output kept %d bytes, want 4096", len(s.Log[0].Output))
	}
}

func TestHealthInterval(t *testing.T) {
	start := time.Unix(1000, 0)
	h := newHealthState(Healthcheck{Interval: time.Minute, StartPeriod: 30 * time.Second, StartInterval: time.Second}, start)
	if d := h.interval(start.Add(time.Second)); d != time.Second {
		t.Errorf("in the start period: %v, want start_interval", d)
	}
	if d := h.interval(start.Add(31 * time.Second)); d != time.Minute {
		t.Errorf("after the start period: %v, want interval", d)
	}
	h.record(HealthResult{Start: start.Add(2 * time.Second)})
	if d := h.interval(start.Add(3 * time.Second)); d != time.Minute {
		t.Errorf("healthy in the start period: %v, want interval", d)
	}
	if d := newHealthState(Healthcheck{}, start).interval(start); d != DefaultInterval {
		t.Errorf("default: %v", d)
	}
}

// fakeClock hands out timers the test fires by hand.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers chan fakeTimer
}

type fakeTimer struct {
	d  time.Duration
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.timers <- fakeTimer{d, ch}
	return ch
}

// fire waits for the loop to ask for a timer, advances the clock by its
// duration and fires it.
func (c *fakeClock) fire(t *testing.T) time.Duration {
	t.Helper()
	select {
	case tm := <-c.timers:
		c.mu.Lock()
		c.now = c.now.Add(tm.d)
		now := c.now
		c.mu.Unlock()
		tm.ch <- now
		return tm.d
	case <-time.After(10 * time.Second):
		t.Fatal("the loop asked for no timer")
		return 0
	}
}

// TestHealthLoop schedules probes on an injected clock: start_interval
// while starting, then interval, reporting every result.
func TestHealthLoop(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0), timers: make(chan fakeTimer)}
	h := newHealthState(Healthcheck{Interval: time.Minute, StartPeriod: time.Hour, StartInterval: time.Second, Retries: 1}, clk.Now())
	results := make(chan int, 10)
	codes := []int{1, 0, 1}
	probes := 0
	probe := func(timeout time.Duration) HealthResult {
		c := codes[probes]
		probes++
		return HealthResult{Start: clk.Now(), End: clk.Now(), ExitCode: c}
	}
	updates := make(chan *Health, 10)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		healthLoop(clk, h, stop, probe, func(hh *Health) { updates <- hh; results <- hh.FailingStreak })
		close(done)
	}()
	wantDelays := []time.Duration{time.Second, time.Second, time.Minute}
	wantStatus := []string{HealthStarting, HealthHealthy, HealthUnhealthy}
	for i := range wantDelays {
		if d := clk.fire(t); d != wantDelays[i] {
			t.Errorf("probe %d after %v, want %v", i, d, wantDelays[i])
		}
		if u := <-updates; u.Status != wantStatus[i] {
			t.Errorf("after probe %d: %s, want %s", i, u.Status, wantStatus[i])
		}
	}
	// The loop now waits for the next timer; stopping ends it.
	go func() { <-clk.timers }()
	close(stop)
	<-done
}

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	frames := []struct {
		kind byte
		p    []byte
	}{{FrameStdin, []byte("hello")}, {FrameCloseStdin, nil}, {FrameResize, ResizePayload(24, 80)}}
	for _, f := range frames {
		if err := WriteFrame(&b, f.kind, f.p); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range frames {
		kind, p, err := ReadFrame(&b)
		if err != nil || kind != f.kind || !bytes.Equal(p, f.p) {
			t.Errorf("read %c %q %v, want %c %q", kind, p, err, f.kind, f.p)
		}
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{'i', 0xff, 0xff, 0xff, 0xff})); err == nil {
		t.Error("a 4 GiB frame was accepted")
	}
}

// TestLeanImports: the supervisor runs once per container, so it must not
// pull in libcontainer, the compose model, cobra or the registry client.
func TestLeanImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/composer-dev/compose/cmd/compose-supervisor").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, banned := range []string{"opencontainers", "compose-spec", "cobra", "go-containerregistry", "vishvananda", "nftables", "engine/container\n", "compose/engine\n"} {
		if strings.Contains(string(out)+"\n", banned) {
			t.Errorf("the supervisor imports %s", strings.TrimSpace(banned))
		}
	}
}

// TestLeanBinary: what makes a supervisor's memory is the code it links,
// which imports do not show (a package can be imported for one small
// function). net, fmt and encoding/json's reflection would add half a
// megabyte to every supervisor.
func TestLeanBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the supervisor")
	}
	bin := filepath.Join(t.TempDir(), "compose-supervisor")
	build := exec.Command("go", "build", "-o", bin, "github.com/composer-dev/compose/cmd/compose-supervisor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("go build: %v: %s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v: %s", err, out)
	}
	banned := []string{"net.", "fmt.", "encoding/json.(*decodeState)", "encoding/json.(*encodeState)"}
	found := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, b := range banned {
			if strings.HasPrefix(f[len(f)-1], b) {
				found[b] = true
			}
		}
	}
	for b := range found {
		t.Errorf("the supervisor binary links %s code", strings.TrimSuffix(b, "."))
	}
}
