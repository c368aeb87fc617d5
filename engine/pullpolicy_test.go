package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
)

// Docker Compose pulls a present image again under a refresh policy when
// `time.Now().After(img.LastTagTime.Add(duration))` (pkg/compose/pull.go
// mustPull), the duration being compose-go's GetPullPolicy: daily 24h,
// weekly 7 days, every_<duration>, refresh 0.
func TestRefreshPolicies(t *testing.T) {
	tagged := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	img := &image.Image{LastTagTime: tagged}
	tests := []struct {
		policy, refreshAfter string
		age                  time.Duration
		due                  bool
	}{
		{"daily", "", 23 * time.Hour, false},
		{"daily", "", 25 * time.Hour, true},
		{"weekly", "", 6 * 24 * time.Hour, false},
		{"weekly", "", 8 * 24 * time.Hour, true},
		{"every_12h", "", 11 * time.Hour, false},
		{"every_12h", "", 13 * time.Hour, true},
		{"every_1d", "", 23 * time.Hour, false},
		{"refresh", "", time.Second, true}, // Docker: every time
		{"refresh", "2h", time.Hour, false},
		{"refresh", "2h", 3 * time.Hour, true},
	}
	for _, tt := range tests {
		svc := types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{PullPolicy: tt.policy, PullRefreshAfter: tt.refreshAfter}}
		if !refreshPolicy(tt.policy) {
			t.Fatalf("%s is a refresh policy", tt.policy)
		}
		after, err := refreshAfter(svc)
		if err != nil {
			t.Fatalf("%s: %v", tt.policy, err)
		}
		if got := refreshDue(img, after, tagged.Add(tt.age)); got != tt.due {
			t.Errorf("%s (pull_refresh_after %q) after %s: due %v, want %v", tt.policy, tt.refreshAfter, tt.age, got, tt.due)
		}
	}
	for _, p := range []string{"", "always", "never", "missing", "if_not_present", "build"} {
		if refreshPolicy(p) {
			t.Errorf("%q is not a refresh policy", p)
		}
	}
	for _, svc := range []types.ServiceConfig{
		{Name: "web", ContainerSpec: types.ContainerSpec{PullPolicy: "every_often"}},
		{Name: "web", ContainerSpec: types.ContainerSpec{PullPolicy: "refresh", PullRefreshAfter: "soon"}},
	} {
		if _, err := refreshAfter(svc); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s/%q: err = %v, want invalid argument", svc.PullPolicy, svc.PullRefreshAfter, err)
		}
	}
}
