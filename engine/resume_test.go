package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/composer-dev/compose/engine/container"
	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/internal/store/jsonfile"
)

// TestResumes: after a reboot, always and unless-stopped come back, the
// latter only when the user did not stop it; containers that never ran,
// one-off containers and other policies stay down.
func TestResumes(t *testing.T) {
	ran := container.State{Status: container.StatusExited, ExitCode: 255, StartedAt: time.Now().UTC()}
	never := container.State{Status: container.StatusCreated}
	for _, tt := range []struct {
		name    string
		policy  string
		state   *container.State // nil: no state file (created, never started)
		stopped bool             // the user stopped it
		oneoff  bool
		want    bool
	}{
		{"always", runspec.RestartAlways, &ran, false, false, true},
		{"always, stopped by the user", runspec.RestartAlways, &ran, true, false, true},
		{"unless-stopped", runspec.RestartUnlessStopped, &ran, false, false, true},
		{"unless-stopped, stopped by the user", runspec.RestartUnlessStopped, &ran, true, false, false},
		{"on-failure", runspec.RestartOnFailure, &ran, false, false, false},
		{"no", runspec.RestartNo, &ran, false, false, false},
		{"no policy", "", &ran, false, false, false},
		{"always, never started", runspec.RestartAlways, nil, false, false, false},
		{"always, start failed", runspec.RestartAlways, &never, false, false, false},
		{"always, one-off", runspec.RestartAlways, &ran, false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &record.Record{Dir: t.TempDir(), Labels: map[string]string{}}
			r.Spec.Restart.Name = tt.policy
			if tt.oneoff {
				r.Labels[record.LabelOneoff] = "True"
			}
			if tt.state != nil {
				if err := jsonfile.Write(filepath.Join(r.Dir, supervisor.StateFile), *tt.state); err != nil {
					t.Fatal(err)
				}
			}
			if tt.stopped {
				if err := os.WriteFile(filepath.Join(r.Dir, supervisor.StopFile), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := resumes(r); got != tt.want {
				t.Errorf("resumes = %v, want %v", got, tt.want)
			}
		})
	}
}
