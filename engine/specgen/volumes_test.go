package specgen

import (
	"errors"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

func TestRunVolumes(t *testing.T) {
	tests := []struct {
		in   string
		want types.ServiceVolumeConfig
		err  error
	}{
		{"/srv:/data", types.ServiceVolumeConfig{Type: "bind", Source: "/srv", Target: "/data"}, nil},
		{"/srv:/data:ro", types.ServiceVolumeConfig{Type: "bind", Source: "/srv", Target: "/data", ReadOnly: true}, nil},
		{"./sub:/data:rw", types.ServiceVolumeConfig{Type: "bind", Source: "/proj/sub", Target: "/data"}, nil},
		{"named:/data", types.ServiceVolumeConfig{Type: "volume", Source: "named", Target: "/data"}, nil},
		{"/data", types.ServiceVolumeConfig{Type: "volume", Target: "/data"}, nil},
		{"/srv:/data:xx", types.ServiceVolumeConfig{}, errdefs.ErrInvalidArgument},
		{"/srv:rel", types.ServiceVolumeConfig{}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := RunVolumes("/proj", nil, []string{tt.in})
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("RunVolumes(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].Type != tt.want.Type || got[0].Source != tt.want.Source || got[0].Target != tt.want.Target || got[0].ReadOnly != tt.want.ReadOnly {
			t.Errorf("RunVolumes(%q) = %+v, %v", tt.in, got, err)
		}
	}
	// ~ is the user's home, as in the compose file.
	t.Setenv("HOME", "/home/u")
	if got, err := RunVolumes("/proj", nil, []string{"~/src:/src:ro,z"}); err != nil || len(got) != 1 || got[0].Source != "/home/u/src" || !got[0].ReadOnly {
		t.Errorf("RunVolumes(~) = %+v, %v", got, err)
	}
	if _, err := RunVolumes("/proj", nil, []string{"/srv:/data:ro,bogus"}); !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != `volume "/srv:/data:ro,bogus": unknown option "bogus": invalid argument` {
		t.Errorf("unknown option: %v", err)
	}
	// A -v replaces the service's volume at the same target.
	got, err := RunVolumes("/proj", []types.ServiceVolumeConfig{{Type: "volume", Source: "a", Target: "/data"}}, []string{"bvol:/data"})
	if err != nil || len(got) != 1 || got[0].Source != "bvol" {
		t.Errorf("runVolumes override = %+v, %v", got, err)
	}
}
