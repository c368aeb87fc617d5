package engine

import (
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	str2duration "github.com/xhit/go-str2duration/v2"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/errdefs"
)

// refreshPolicy reports whether policy is one that pulls a present image
// again once it is old: refresh, daily, weekly or every_<duration>.
func refreshPolicy(policy string) bool {
	switch policy {
	case "", types.PullPolicyAlways, types.PullPolicyNever, types.PullPolicyBuild, types.PullPolicyMissing, types.PullPolicyIfNotPresent:
		return false
	}
	return true
}

// refreshAfter is how old (since last tagged) a present image may be
// before a refresh policy pulls it again: Docker Compose's mustPull
// compares `time.Now().After(img.LastTagTime.Add(duration))` with the
// duration compose-go gives the policy (daily 24h, weekly 7 days,
// every_<d>, refresh 0: every time). Docker Compose ignores
// pull_refresh_after; the compose specification has it set refresh's
// duration, and so it does here.
func refreshAfter(svc types.ServiceConfig) (time.Duration, error) {
	policy, d, err := svc.GetPullPolicy()
	if err != nil {
		return 0, fmt.Errorf("service %q: invalid pull policy %q: %w", svc.Name, svc.PullPolicy, errdefs.ErrInvalidArgument)
	}
	if policy == types.PullPolicyRefresh && svc.PullPolicy == types.PullPolicyRefresh && svc.PullRefreshAfter != "" {
		if d, err = str2duration.ParseDuration(svc.PullRefreshAfter); err != nil || d < 0 {
			return 0, fmt.Errorf("service %q: pull_refresh_after %q: want a duration such as 12h or 7d: %w", svc.Name, svc.PullRefreshAfter, errdefs.ErrInvalidArgument)
		}
	}
	return d, nil
}

// refreshDue reports whether img, present, must be pulled again at now.
func refreshDue(img *image.Image, after time.Duration, now time.Time) bool {
	return now.After(img.LastTagTime.Add(after))
}
