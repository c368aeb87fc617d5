package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/composer-dev/compose/engine/container/supervisor"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/inotify"
)

// EventsOptions are the flags of `compose events`.
type EventsOptions struct {
	Services []string
	// Until, when set, ends the stream at that time (--until).
	Until time.Time

	JSON bool // PrintEvents: one JSON object per line
}

// Event is one container event, as `docker compose events` reports it
// (JSON keys in Compose's order: it marshals a map).
type Event struct {
	Action     string            `json:"action"`
	Attributes map[string]string `json:"attributes"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Time       time.Time         `json:"time"`
	Type       string            `json:"type"`
}

// String is Compose's line: time, "container", action, id and attributes.
func (ev Event) String() string {
	keys := make([]string, 0, len(ev.Attributes))
	for k := range ev.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]string, len(keys))
	for i, k := range keys {
		attrs[i] = k + "=" + ev.Attributes[k]
	}
	return fmt.Sprintf("%s container %s %s (%s)", ev.Time.Format("2006-01-02 15:04:05.000000"), ev.Action, ev.ID, strings.Join(attrs, ", "))
}

// Events yields the events of the project's containers (create, start,
// health_status, pause, unpause, die, stop, destroy) as they happen, from
// when the sequence starts until ctx ends or opts.Until comes. It watches
// the state on disk with inotify: every change a supervisor or a command
// makes wakes it, without polling.
func (r *Reporter) Events(ctx context.Context, project string, opts EventsOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		stopped := errors.New("stopped") // the consumer wants no more
		emit := func(ev Event) error {
			if len(opts.Services) > 0 && !slices.Contains(opts.Services, ev.Service) {
				return nil
			}
			if !yield(ev, nil) {
				return stopped
			}
			return nil
		}
		w, err := r.newStateWatcher(project, emit)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer w.close()
		if !opts.Until.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, opts.Until)
			defer cancel()
		}
		if err := w.run(ctx); err != nil && !errors.Is(err, stopped) { // nil once ctx ends or --until comes
			yield(Event{}, err)
		}
	}
}

// PrintEvents prints events as Compose does: its line, or with JSON one
// object per line.
func PrintEvents(out io.Writer, events iter.Seq2[Event, error], opts EventsOptions) error {
	enc := json.NewEncoder(out)
	for ev, err := range events {
		if err != nil {
			return err
		}
		if opts.JSON {
			err = enc.Encode(ev)
		} else {
			// Compose's event line ends in a newline of its own, and it
			// prints it with Println: a blank line follows each event.
			_, err = fmt.Fprint(out, ev.String()+"\n\n")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stateWatcher turns changes of the containers' directories into events.
type stateWatcher struct {
	r       *Reporter
	dir     string // <root>/containers
	project string
	emit    func(Event) error
	in      *inotify.Watcher // the containers directory and each container's
	seen    map[string]*seenContainer
}

// seenContainer is what the watcher last knew of a container.
type seenContainer struct {
	rec     *record.Record // nil until its record is written; nil forever for other projects
	other   bool           // another project's: ignored
	status  string
	started time.Time
	health  string
	paused  bool
}

func (r *Reporter) newStateWatcher(project string, emit func(Event) error) (*stateWatcher, error) {
	dir := filepath.Clean(r.Records.ContainersDir())
	in, err := inotify.Watch(dir)
	if err != nil {
		return nil, err
	}
	w := &stateWatcher{r: r, dir: dir, project: project, emit: emit, in: in, seen: map[string]*seenContainer{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		w.close()
		return nil, err
	}
	for _, ent := range ents {
		if ent.IsDir() {
			w.track(ent.Name(), false) // what exists now is the starting point, not news
		}
	}
	return w, nil
}

func (w *stateWatcher) close() { _ = w.in.Close() }

// run reports changes until ctx ends.
func (w *stateWatcher) run(ctx context.Context) error {
	for {
		ev, err := w.in.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, inotify.ErrOverflow):
			err = w.resync()
		case err == nil:
			err = w.handle(ev)
		}
		if err != nil {
			return err
		}
	}
}

func (w *stateWatcher) handle(ev inotify.Event) error {
	dir, name := filepath.Dir(ev.Path), filepath.Base(ev.Path)
	switch {
	case dir == w.dir: // a container's directory itself
		switch {
		case ev.Has(inotify.Create):
			return w.track(name, true)
		case ev.Has(inotify.Remove | inotify.Rename):
			return w.destroyed(name)
		}
	case filepath.Dir(dir) == w.dir: // a file in it
		id := filepath.Base(dir)
		switch name {
		case record.File, supervisor.StateFile:
			return w.update(id, true)
		case supervisor.PausedFile:
			return w.pauseChanged(id, !ev.Has(inotify.Remove|inotify.Rename))
		}
	}
	return nil
}

// resync compares every container with what was seen, after the kernel
// dropped events (its queue overflowed).
func (w *stateWatcher) resync() error {
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, ent := range ents {
		id := ent.Name()
		if !ent.IsDir() {
			continue
		}
		present[id] = true
		if w.seen[id] == nil {
			if err := w.track(id, true); err != nil {
				return err
			}
			continue
		}
		if err := w.update(id, true); err != nil {
			return err
		}
		if err := w.pauseChanged(id, exists(filepath.Join(w.dir, id), supervisor.PausedFile)); err != nil {
			return err
		}
	}
	for id := range w.seen {
		if !present[id] {
			if err := w.destroyed(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// exists reports whether the container directory dir holds the marker file name.
func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// track starts watching a container's directory and reads what is in it.
func (w *stateWatcher) track(id string, report bool) error {
	dir := filepath.Join(w.dir, id)
	if err := w.in.Add(dir); err != nil {
		return nil // gone again already, or not a directory
	}
	w.seen[id] = &seenContainer{paused: exists(dir, supervisor.PausedFile)}
	return w.update(id, report)
}

// update compares a container's record and state with what was seen
// before and reports the difference.
func (w *stateWatcher) update(id string, report bool) error {
	s := w.seen[id]
	if s == nil || s.other {
		return nil
	}
	dir := filepath.Join(w.dir, id)
	if s.rec == nil {
		r, err := record.Load(dir)
		if err != nil {
			return nil // not written yet
		}
		if r.Project != w.project {
			s.other = true
			return nil
		}
		s.rec = r
		if report {
			if err := w.emit(w.event(r, "create", nil)); err != nil {
				return err
			}
		}
	}
	st, err := w.r.Runtime.State(dir)
	if err != nil {
		return nil // no state yet, or removed meanwhile: destroyed reports that
	}
	status := string(st.Status)
	health := health(st)
	var evs []Event
	if st.Status == supervisor.StatusRunning && (s.status != status || !st.StartedAt.Equal(s.started)) {
		evs = append(evs, w.event(s.rec, "start", nil))
	}
	if s.status == string(supervisor.StatusRunning) && status != s.status {
		evs = append(evs, w.event(s.rec, "die", map[string]string{"exitCode": strconv.Itoa(st.ExitCode)}))
		if exists(dir, supervisor.StopFile) { // the user stopped it
			evs = append(evs, w.event(s.rec, "stop", nil))
		}
	}
	if health != "" && health != s.health {
		evs = append(evs, w.event(s.rec, "health_status: "+health, nil))
	}
	s.status, s.started, s.health = status, st.StartedAt, health
	if !report {
		return nil
	}
	for _, ev := range evs {
		if err := w.emit(ev); err != nil {
			return err
		}
	}
	return nil
}

// pauseChanged reports a pause or unpause of a running container.
func (w *stateWatcher) pauseChanged(id string, paused bool) error {
	s := w.seen[id]
	if s == nil || s.rec == nil || s.paused == paused {
		return nil
	}
	s.paused = paused
	if s.status != string(supervisor.StatusRunning) {
		return nil
	}
	action := "unpause"
	if paused {
		action = "pause"
	}
	return w.emit(w.event(s.rec, action, nil))
}

// destroyed reports a removed container of the project.
func (w *stateWatcher) destroyed(id string) error {
	s := w.seen[id]
	delete(w.seen, id)
	if s == nil || s.rec == nil {
		return nil
	}
	if s.status == string(supervisor.StatusRunning) { // removed before its exit was read
		if err := w.emit(w.event(s.rec, "die", nil)); err != nil {
			return err
		}
	}
	return w.emit(w.event(s.rec, "destroy", nil))
}

// event is an event of r with Docker's attributes: image, name, the
// container's own labels (not Compose's) and extra.
func (w *stateWatcher) event(r *record.Record, action string, extra map[string]string) Event {
	attrs := map[string]string{"image": r.Image, "name": r.Name}
	for k, v := range r.Labels {
		if !strings.HasPrefix(k, "com.docker.compose.") {
			attrs[k] = v
		}
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return Event{Time: w.r.now(), Type: "container", Action: action, ID: r.ID, Service: r.Service, Attributes: attrs}
}

// ParseEventTime reads an --until value the way the docker CLI reads
// timestamps: RFC 3339 (with or without zone or fraction), a date, or Unix
// seconds with an optional fraction.
func ParseEventTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	sec, frac, _ := strings.Cut(v, ".")
	if s, err := strconv.ParseInt(sec, 10, 64); err == nil {
		var ns int64
		if frac != "" {
			if len(frac) > 9 {
				frac = frac[:9]
			}
			n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("timestamp %q: %w", v, errdefs.ErrInvalidArgument)
			}
			ns = n
		}
		return time.Unix(s, ns), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q: use RFC 3339 (2006-01-02T15:04:05Z) or Unix seconds: %w", v, errdefs.ErrInvalidArgument)
}
