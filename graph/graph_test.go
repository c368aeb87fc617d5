package graph

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

// svc is a test service: deps are required depends_on entries.
func svc(deps ...string) types.ServiceConfig {
	s := types.ServiceConfig{}
	if len(deps) > 0 {
		s.DependsOn = types.DependsOnConfig{}
		for _, d := range deps {
			s.DependsOn[d] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
		}
	}
	return s
}

func project(services map[string]types.ServiceConfig) *types.Project {
	p := &types.Project{Name: "t", Services: types.Services{}}
	for n, s := range services {
		s.Name = n
		p.Services[n] = s
	}
	return p
}

func mustNew(t *testing.T, services map[string]types.ServiceConfig) *Graph {
	t.Helper()
	g, err := New(project(services))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewEdges(t *testing.T) {
	optional := svc()
	optional.DependsOn = types.DependsOnConfig{"gone": {Required: false}, "db": {Condition: types.ServiceConditionHealthy, Required: true}}
	linked := svc()
	linked.Links = []string{"db:database", "cache"}
	netShare := svc()
	netShare.NetworkMode = "service:db"
	netShare.Pid = "service:cache"
	vols := svc()
	vols.VolumesFrom = []string{"db:ro", "container:foreign", "service:cache"}
	hostNet := svc()
	hostNet.NetworkMode = "host"

	g := mustNew(t, map[string]types.ServiceConfig{
		"db": svc(), "cache": svc(),
		"optional": optional, "linked": linked, "net": netShare, "vols": vols, "host": hostNet,
	})
	want := map[string][]string{
		"db": nil, "cache": nil, "host": nil,
		"optional": {"db"},
		"linked":   {"cache", "db"},
		"net":      {"cache", "db"},
		"vols":     {"cache", "db"},
	}
	if got := g.Services(); !slices.Equal(got, []string{"cache", "db", "host", "linked", "net", "optional", "vols"}) {
		t.Errorf("services %v", got)
	}
	for n, deps := range want {
		if got := g.Dependencies(n); !slices.Equal(got, deps) {
			t.Errorf("%s deps %v, want %v", n, got, deps)
		}
	}
	if got := g.Dependents("db"); !slices.Equal(got, []string{"linked", "net", "optional", "vols"}) {
		t.Errorf("db dependents %v", got)
	}
}

// TestEdgesOf: each reason a service needs another, with depends_on's
// condition and flags, in a stable order.
func TestEdgesOf(t *testing.T) {
	s := svc()
	s.DependsOn = types.DependsOnConfig{
		"db":    {Condition: types.ServiceConditionHealthy, Required: true, Restart: true},
		"cache": {Condition: types.ServiceConditionStarted, Required: false},
	}
	s.Links = []string{"db:database"}
	s.NetworkMode = "service:proxy"
	s.Ipc = "service:db"
	s.VolumesFrom = []string{"data:ro", "container:foreign", "service:logs"}
	got := EdgesOf("app", s)
	started := types.ServiceConditionStarted
	want := []Edge{
		{From: "app", To: "cache", Via: "depends_on", Condition: started},
		{From: "app", To: "db", Via: "depends_on", Condition: types.ServiceConditionHealthy, Required: true, Restart: true},
		{From: "app", To: "db", Via: "links", Condition: started, Required: true},
		{From: "app", To: "proxy", Via: "network_mode", Condition: started, Required: true},
		{From: "app", To: "db", Via: "ipc", Condition: started, Required: true},
		{From: "app", To: "data", Via: "volumes_from", Condition: started, Required: true},
		{From: "app", To: "logs", Via: "volumes_from", Condition: started, Required: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("EdgesOf =\n%+v\nwant\n%+v", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	link := svc()
	link.Links = []string{"ghost"}
	net := svc()
	net.NetworkMode = "service:ghost"
	tests := []struct {
		name     string
		services map[string]types.ServiceConfig
		want     string
	}{
		{name: "self", services: map[string]types.ServiceConfig{"a": svc("a")}, want: "dependency cycle detected: a -> a"},
		{name: "three", services: map[string]types.ServiceConfig{"a": svc("b"), "b": svc("c"), "c": svc("a"), "d": svc("a")}, want: "dependency cycle detected: a -> b -> c -> a"},
		{name: "cycle behind a tail", services: map[string]types.ServiceConfig{"a": svc("b"), "b": svc("c"), "c": svc("b")}, want: "dependency cycle detected: b -> c -> b"},
		{name: "missing depends_on", services: map[string]types.ServiceConfig{"a": svc("ghost")}, want: `service "a" depends on undefined service "ghost"`},
		{name: "missing link", services: map[string]types.ServiceConfig{"a": link}, want: `service "a" depends on undefined service "ghost" (links)`},
		{name: "missing network_mode", services: map[string]types.ServiceConfig{"a": net}, want: `service "a" depends on undefined service "ghost" (network_mode)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(project(tt.services))
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err %v, want %q (invalid argument)", err, tt.want)
			}
		})
	}
}

// chain: web -> api -> {db, cache}; worker -> db; lone.
func chain(t *testing.T) *Graph {
	return mustNew(t, map[string]types.ServiceConfig{
		"web": svc("api"), "api": svc("db", "cache"), "worker": svc("db"), "db": svc(), "cache": svc(), "lone": svc(),
	})
}

// record walks g and returns the order fn was called in.
func record(t *testing.T, g *Graph, dir Direction, limit int) []string {
	t.Helper()
	var mu sync.Mutex
	var order []string
	err := g.Walk(t.Context(), dir, limit, func(ctx context.Context, s string) error {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return order
}

func TestWalkOrder(t *testing.T) {
	g := chain(t)
	for _, limit := range []int{0, 1, 2} {
		up := record(t, g, Up, limit)
		down := record(t, g, Down, limit)
		if len(up) != 6 || len(down) != 6 {
			t.Fatalf("up %v down %v", up, down)
		}
		pos := func(order []string, s string) int { return slices.Index(order, s) }
		for _, s := range g.Services() {
			for _, d := range g.Dependencies(s) {
				if pos(up, d) > pos(up, s) {
					t.Errorf("limit %d: up %v: %s before its dependency %s", limit, up, s, d)
				}
				if pos(down, d) < pos(down, s) {
					t.Errorf("limit %d: down %v: %s before its dependent %s", limit, down, d, s)
				}
			}
		}
	}
	// With one at a time the walk is deterministic, and Down is Up reversed here.
	up := record(t, g, Up, 1)
	if want := []string{"cache", "db", "api", "lone", "web", "worker"}; !slices.Equal(up, want) {
		t.Errorf("up %v, want %v", up, want)
	}
}

// TestWalkWaitsForDependencies checks that a service starts only after its
// dependencies' fn returned, even when they are slow.
func TestWalkWaitsForDependencies(t *testing.T) {
	g := chain(t)
	var mu sync.Mutex
	finished := map[string]bool{}
	err := g.Walk(t.Context(), Up, 0, func(ctx context.Context, s string) error {
		mu.Lock()
		for _, d := range g.Dependencies(s) {
			if !finished[d] {
				t.Errorf("%s started before %s finished", s, d)
			}
		}
		mu.Unlock()
		runtime.Gosched()
		mu.Lock()
		finished[s] = true
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWalkParallelismBound(t *testing.T) {
	services := map[string]types.ServiceConfig{}
	for i := range 12 {
		services[fmt.Sprintf("s%02d", i)] = svc()
	}
	g := mustNew(t, services)
	for _, limit := range []int{1, 3, 0} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var cur, peak atomic.Int32
			want := int32(limit)
			if limit <= 0 {
				want = 12
			}
			// Each call blocks until `want` calls are running at once (or a
			// deadline passes), so an unbounded walk must reach 12 and a
			// bounded one must never exceed its limit.
			var mu sync.Mutex
			cond := sync.NewCond(&mu)
			deadline := time.Now().Add(5 * time.Second)
			err := g.Walk(t.Context(), Up, limit, func(ctx context.Context, s string) error {
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				mu.Lock()
				cond.Broadcast()
				for peak.Load() < want && time.Now().Before(deadline) {
					waitWithTimeout(cond, 10*time.Millisecond)
				}
				mu.Unlock()
				cur.Add(-1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if peak.Load() != want {
				t.Errorf("peak concurrency %d, want %d", peak.Load(), want)
			}
		})
	}
}

// waitWithTimeout waits on c (whose lock is held) for at most d.
func waitWithTimeout(c *sync.Cond, d time.Duration) {
	t := time.AfterFunc(d, c.Broadcast)
	c.Wait()
	t.Stop()
}

func TestWalkErrorCancels(t *testing.T) {
	// fail and slow are independent; web depends on fail and must never run.
	g := mustNew(t, map[string]types.ServiceConfig{"fail": svc(), "slow": svc(), "web": svc("fail", "slow")})
	boom := errors.New("boom")
	slowStarted := make(chan struct{})
	var slowSawCancel atomic.Bool
	var ran sync.Map
	err := g.Walk(t.Context(), Up, 0, func(ctx context.Context, s string) error {
		ran.Store(s, true)
		switch s {
		case "fail":
			<-slowStarted
			return boom
		case "slow":
			close(slowStarted)
			select {
			case <-ctx.Done():
				slowSawCancel.Store(true)
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if !slowSawCancel.Load() {
		t.Error("running call not cancelled (or not waited for)")
	}
	if _, ok := ran.Load("web"); ok {
		t.Error("web ran after its dependency failed")
	}
}

func TestWalkParentCancelled(t *testing.T) {
	g := chain(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	err := g.Walk(ctx, Up, 0, func(ctx context.Context, s string) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Errorf("err %v calls %d", err, calls)
	}
}

func TestWalkNoGoroutineLeak(t *testing.T) {
	g := chain(t)
	before := runtime.NumGoroutine()
	for range 20 {
		_ = g.Walk(t.Context(), Down, 2, func(ctx context.Context, s string) error {
			if s == "api" {
				return errors.New("x")
			}
			return nil
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines %d > %d before", n, before)
	}
}

func TestSubset(t *testing.T) {
	g := chain(t)
	tests := []struct {
		names    []string
		withDeps bool
		want     []string
		apiDeps  []string
	}{
		{names: []string{"web"}, withDeps: true, want: []string{"api", "cache", "db", "web"}, apiDeps: []string{"cache", "db"}},
		{names: []string{"web", "api"}, withDeps: false, want: []string{"api", "web"}, apiDeps: nil},
		{names: []string{"api", "worker"}, withDeps: true, want: []string{"api", "cache", "db", "worker"}, apiDeps: []string{"cache", "db"}},
		{names: nil, withDeps: true, want: []string{}},
	}
	for _, tt := range tests {
		s, err := g.Subset(tt.names, tt.withDeps)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Services(); !slices.Equal(got, tt.want) {
			t.Errorf("%v %v: services %v, want %v", tt.names, tt.withDeps, got, tt.want)
		}
		if got := s.Dependencies("api"); !slices.Equal(got, tt.apiDeps) {
			t.Errorf("%v: api deps %v, want %v", tt.names, got, tt.apiDeps)
		}
		if got := record(t, s, Up, 0); len(got) != len(tt.want) {
			t.Errorf("%v: walked %v", tt.names, got)
		}
	}
	if _, err := g.Subset([]string{"web", "nope"}, true); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "no such service: nope") {
		t.Errorf("unknown: %v", err)
	}
	// The original graph is untouched.
	if len(g.Services()) != 6 || len(g.Dependents("db")) != 2 {
		t.Error("Subset changed the original graph")
	}
}
