package supervisor

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/composer-dev/compose/internal/leanjson"
)

// The supervisor reads and writes its JSON with leanjson rather than
// encoding/json, which would make every supervisor larger (see the
// package doc). The full binary reads and writes the same files with
// encoding/json; the tests check that both agree, field by field.

// readConfig reads the part of DIR/spec.json the supervisor needs.
func readConfig(path string) (config, error) {
	var c config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	v, err := leanjson.Parse(data)
	if err != nil {
		return c, errors.New(path + ": " + err.Error())
	}
	c.ID = v.Get("ID").Str()
	c.Name = v.Get("Name").Str()
	c.Options.Tty = v.Get("Options").Get("Tty").Bool()
	c.Options.OpenStdin = v.Get("Options").Get("OpenStdin").Bool()
	r := v.Get("Restart")
	c.Restart = RestartPolicy{
		Name:       r.Get("Name").Str(),
		MaxRetries: int(r.Get("MaxRetries").Int()),
		Delay:      time.Duration(r.Get("Delay").Int()),
		Window:     time.Duration(r.Get("Window").Int()),
	}
	if h := v.Get("Health"); !h.Null() {
		c.Health = &Healthcheck{
			Test:          h.Get("Test").Strings(),
			Interval:      time.Duration(h.Get("Interval").Int()),
			Timeout:       time.Duration(h.Get("Timeout").Int()),
			Retries:       int(h.Get("Retries").Int()),
			StartPeriod:   time.Duration(h.Get("StartPeriod").Int()),
			StartInterval: time.Duration(h.Get("StartInterval").Int()),
		}
	}
	l := v.Get("Log")
	c.Log = LogOptions{Driver: l.Get("Driver").Str(), MaxSize: l.Get("MaxSize").Int(), MaxFile: int(l.Get("MaxFile").Int())}
	c.RunDir = v.Get("RunDir").Str()
	c.Exe = v.Get("Exe").Str()
	return c, nil
}

// encodeState is State as encoding/json writes it.
func encodeState(st State) []byte {
	var o leanjson.Object
	o.String("Status", string(st.Status))
	o.Int("Pid", int64(st.Pid))
	o.Int("ExitCode", int64(st.ExitCode))
	o.Bool("OOMKilled", st.OOMKilled)
	o.Time("StartedAt", st.StartedAt)
	o.Time("FinishedAt", st.FinishedAt)
	o.String("Error", st.Error)
	if st.RestartCount != 0 {
		o.Int("RestartCount", int64(st.RestartCount))
	}
	if st.Health != nil {
		o.Raw("Health", encodeHealth(st.Health))
	}
	if st.SupervisorPid != 0 {
		o.Int("SupervisorPid", int64(st.SupervisorPid))
	}
	if st.SupervisorStart != 0 {
		o.Uint("SupervisorStart", st.SupervisorStart)
	}
	if st.InitStart != 0 {
		o.Uint("InitStart", st.InitStart)
	}
	return o.Bytes()
}

func encodeHealth(h *Health) []byte {
	var o leanjson.Object
	o.String("Status", h.Status)
	o.Int("FailingStreak", int64(h.FailingStreak))
	if h.Log == nil {
		o.Raw("Log", []byte("null"))
		return o.Bytes()
	}
	log := []byte{'['}
	for i, r := range h.Log {
		if i > 0 {
			log = append(log, ',')
		}
		var e leanjson.Object
		e.Time("Start", r.Start)
		e.Time("End", r.End)
		e.Int("ExitCode", int64(r.ExitCode))
		e.String("Output", r.Output)
		log = append(log, e.Bytes()...)
	}
	o.Raw("Log", append(log, ']'))
	return o.Bytes()
}

// encodeReady is Ready as encoding/json writes it.
func encodeReady(m Ready) []byte {
	var o leanjson.Object
	if m.Error != "" {
		o.String("Error", m.Error)
	}
	if m.Class != "" {
		o.String("Class", m.Class)
	}
	if m.ExitCode != 0 {
		o.Int("ExitCode", int64(m.ExitCode))
	}
	return o.Bytes()
}

// maxReport bounds what we read from __create.
const maxReport = 64 << 10

// readCreateReport reads the one line __create writes (encoding/json's
// Encoder ends it with a newline). It fails if __create exits first.
func readCreateReport(r io.Reader) (CreateReport, error) {
	var rep CreateReport
	var line []byte
	var buf [512]byte
	for {
		n, err := r.Read(buf[:])
		line = append(line, buf[:n]...)
		if i := indexNewline(line); i >= 0 {
			line = line[:i]
			break
		}
		if err != nil {
			return rep, err
		}
		if len(line) > maxReport {
			return rep, errors.New("create report too long")
		}
	}
	v, err := leanjson.Parse(line)
	if err != nil {
		return rep, err
	}
	rep.Pid = int(v.Get("Pid").Int())
	rep.OOMFile = v.Get("OOMFile").Str()
	rep.Error = v.Get("Error").Str()
	rep.Class = v.Get("Class").Str()
	rep.ExitCode = int(v.Get("ExitCode").Int())
	return rep, nil
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}
