package supervisor

import "testing"

func TestStateLive(t *testing.T) {
	tests := []struct {
		st           State
		active, live bool
	}{
		{State{Status: StatusRunning}, false, true},
		{State{Status: StatusRunning, SupervisorPid: 7}, true, true},
		{State{Status: StatusCreated, SupervisorPid: 7}, true, true},    // being started
		{State{Status: StatusRestarting, SupervisorPid: 7}, true, true}, // waiting out its back-off
		{State{Status: StatusRestarting}, false, false},                 // nobody will restart it
		{State{Status: StatusExited, SupervisorPid: 7}, false, false},   // the supervisor is leaving
		{State{Status: StatusCreated}, false, false},
	}
	for _, tt := range tests {
		if got := tt.st.Active(); got != tt.active {
			t.Errorf("%+v.Active() = %v", tt.st, got)
		}
		if got := tt.st.Live(); got != tt.live {
			t.Errorf("%+v.Live() = %v", tt.st, got)
		}
	}
}
