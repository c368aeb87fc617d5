package logs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/composer-dev/compose/logs/jsonfile"
)

// Entry is one line of a container's output.
type Entry struct {
	Stream string
	Time   time.Time
	Line   string // without the trailing newline
}

// ReadOptions selects what Read returns.
type ReadOptions struct {
	// Tail is how many records to show from the end, -1 = all. Like
	// Docker it counts records: a line over 16 KiB counts as several.
	Tail   int
	Follow bool // keep reading as lines are written
	// Since and Until bound the entries by time; zero = unbounded.
	Since, Until time.Time
	// Done, when following, reports that the writer is gone (the container
	// exited): at end of file Read then drains what is left and returns.
	Done func() bool
}

const (
	// maxPending caps a line reassembled from partial records.
	maxPending = 1 << 20
	// maxRecord caps one raw line in the file; longer ones are corrupt.
	maxRecord = 4 << 20
	// pollInterval bounds a wait, so Done and Until are noticed.
	pollInterval = 250 * time.Millisecond
)

// errStop ends a read early without error (an entry after Until).
var errStop = errors.New("stop")

// Read calls fn for the entries of the log file at path and its rotated
// predecessors (path.1, path.2 …), oldest first. A missing file yields no
// entries, or with Follow is waited for. Corrupt lines are skipped. It
// returns fn's first error, or ctx.Err() when ctx ends while following.
func Read(ctx context.Context, path string, opts ReadOptions, fn func(Entry) error) error {
	r := &reader{ctx: ctx, buf: make([]byte, 64<<10), path: path, opts: opts, fn: fn, pending: map[string]*Entry{}}
	err := r.run()
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil {
		err = r.flushPending()
		if errors.Is(err, errStop) {
			err = nil
		}
	}
	return err
}

type reader struct {
	ctx  context.Context
	buf  []byte
	path string
	opts ReadOptions
	fn   func(Entry) error

	// pending holds, per stream, a line whose partial records are not all read.
	pending map[string]*Entry
}

// logFile is an open log file and how far it has been read.
type logFile struct {
	f     *os.File
	off   int64
	carry []byte // an incomplete last line
	skip  bool   // discarding an over-long line up to its newline
}

func (r *reader) run() error {
	files, err := r.openAll()
	if err != nil {
		return err
	}
	defer func() { closeAll(files) }()
	if r.opts.Tail >= 0 {
		kept, err := tailFiles(files, r.opts.Tail)
		if err != nil {
			return err
		}
		files = kept
	}
	var cur *logFile
	for i, lf := range files {
		if err := r.readAvailable(lf, !r.opts.Follow || i < len(files)-1); err != nil {
			return err
		}
		cur = lf
	}
	if !r.opts.Follow {
		return nil
	}
	// Only the newest file stays in use; the deferred close covers the rest.
	if cur != nil {
		files = slices.DeleteFunc(files, func(lf *logFile) bool { return lf == cur })
	}
	return r.follow(cur)
}

// openAll opens the live file and the rotated ones, oldest first.
func (r *reader) openAll() ([]*logFile, error) {
	for try := 0; ; try++ {
		before, err := os.Stat(r.path)
		files, err2 := r.scan()
		if err2 != nil {
			return nil, err2
		}
		// Names only move up, so a scan upwards never sees them out of
		// order unless the writer completed a rotation meanwhile; then the
		// live file is new, and we scan again.
		after, err3 := os.Stat(r.path)
		if (err == nil && err3 == nil && os.SameFile(before, after)) ||
			(errors.Is(err, os.ErrNotExist) && errors.Is(err3, os.ErrNotExist) && len(files) == 0) || try == 10 {
			return files, nil
		}
		closeAll(files)
	}
}

// scan opens path, path.1, path.2 … and returns them oldest first. The live
// file is opened first and duplicates are dropped, so a rotation racing with
// the scan does not show a file twice.
func (r *reader) scan() ([]*logFile, error) {
	var files []*logFile
	var seen []os.FileInfo
	misses := 0
	for i := 0; ; i++ {
		f, err := os.Open(r.name(i))
		if errors.Is(err, os.ErrNotExist) {
			// A rotation in progress leaves one name missing at a time.
			if misses++; misses > 1 {
				break
			}
			continue
		}
		misses = 0
		if err != nil {
			closeAll(files)
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			closeAll(files)
			return nil, err
		}
		if slices.ContainsFunc(seen, func(o os.FileInfo) bool { return os.SameFile(o, st) }) {
			f.Close()
			continue
		}
		seen = append(seen, st)
		files = append(files, &logFile{f: f})
	}
	slices.Reverse(files)
	return files, nil
}

func closeAll(files []*logFile) {
	for _, lf := range files {
		lf.f.Close()
	}
}

// tailFiles positions files so that only the last n records are read,
// scanning backwards from the end, and closes the files not needed.
func tailFiles(files []*logFile, n int) ([]*logFile, error) {
	for i := len(files) - 1; i >= 0; i-- {
		lf := files[i]
		st, err := lf.f.Stat()
		if err != nil {
			return nil, err
		}
		off, found, err := tailOffset(lf.f, st.Size(), n)
		if err != nil {
			return nil, err
		}
		lf.off = off
		n -= found
		if n <= 0 || i == 0 {
			closeAll(files[:i])
			return files[i:], nil
		}
	}
	return files, nil
}

// tailOffset returns where the last n lines of f (of the given size) start
// and how many lines (at most n) that covers.
func tailOffset(f *os.File, size int64, n int) (int64, int, error) {
	if n <= 0 || size == 0 {
		return size, 0, nil
	}
	buf := make([]byte, 32<<10)
	found := 0
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			// Each newline but the final one starts a line.
			if chunk[i] != '\n' || start+int64(i) == size-1 {
				continue
			}
			if found++; found == n {
				return start + int64(i) + 1, n, nil
			}
		}
		end = start
	}
	return 0, found + 1, nil
}

// readAvailable reads lf from its offset to the current end of file. With
// final, an unterminated last line is parsed too (the file is complete).
func (r *reader) readAvailable(lf *logFile, final bool) error {
	for {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		n, rerr := lf.f.ReadAt(r.buf, lf.off)
		lf.off += int64(n)
		if err := r.consume(lf, r.buf[:n]); err != nil {
			return err
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				return rerr
			}
			break
		}
	}
	if final && len(lf.carry) > 0 && !lf.skip {
		line := lf.carry
		lf.carry = nil
		return r.record(line)
	}
	return nil
}

// consume splits data into lines, keeping an unterminated rest in lf.carry.
func (r *reader) consume(lf *logFile, data []byte) error {
	for len(data) > 0 {
		i := slices.Index(data, '\n')
		if i < 0 {
			if !lf.skip {
				lf.carry = append(lf.carry, data...)
				if len(lf.carry) > maxRecord {
					lf.carry, lf.skip = nil, true
				}
			}
			return nil
		}
		line := data[:i]
		data = data[i+1:]
		if lf.skip {
			lf.skip = false
			continue
		}
		if len(lf.carry) > 0 {
			line = append(lf.carry, line...)
			lf.carry = nil
		}
		if err := r.record(line); err != nil {
			return err
		}
	}
	return nil
}

// record decodes one json-file line and joins partial records into lines.
func (r *reader) record(line []byte) error {
	var rec jsonfile.Record
	if len(line) == 0 || json.Unmarshal(line, &rec) != nil {
		return nil // corrupt or empty: skip
	}
	p := r.pending[rec.Stream]
	if p == nil {
		p = &Entry{Stream: rec.Stream, Time: rec.Time}
	}
	text, complete := strings.CutSuffix(rec.Log, "\n")
	p.Line += text
	if !complete && len(p.Line) < maxPending {
		r.pending[rec.Stream] = p
		return nil
	}
	delete(r.pending, rec.Stream)
	return r.emit(*p)
}

func (r *reader) emit(e Entry) error {
	if !r.opts.Since.IsZero() && e.Time.Before(r.opts.Since) {
		return nil
	}
	if !r.opts.Until.IsZero() && e.Time.After(r.opts.Until) {
		return errStop
	}
	return r.fn(e)
}

// flushPending emits lines whose last part never came (a stream closed
// mid-line), oldest first.
func (r *reader) flushPending() error {
	var rest []Entry
	for _, p := range r.pending {
		rest = append(rest, *p)
	}
	clear(r.pending)
	slices.SortFunc(rest, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	for _, e := range rest {
		if err := r.emit(e); err != nil {
			return err
		}
	}
	return nil
}

// follow keeps reading cur (nil if the file does not exist yet), moving on
// to newer files as the writer rotates, until ctx ends, Until passes, or
// Done reports the writer gone and everything is read.
func (r *reader) follow(cur *logFile) error {
	defer func() {
		if cur != nil {
			cur.f.Close()
		}
	}()
	w := newWatcher(r.path)
	defer w.close()
	for {
		// Done is asked before draining: when it says yes, the writer
		// finished before this drain, so the drain sees all of its output.
		done := r.opts.Done != nil && r.opts.Done()
		var err error
		if cur, err = r.drain(cur); err != nil {
			return err
		}
		if done {
			if cur != nil && len(cur.carry) > 0 && !cur.skip {
				return r.record(cur.carry)
			}
			return nil
		}
		if !r.opts.Until.IsZero() && time.Now().After(r.opts.Until) {
			return nil
		}
		if err := w.wait(r.ctx, pollInterval); err != nil {
			return err
		}
	}
}

// drain reads cur to its end and follows rotations to the live file.
func (r *reader) drain(cur *logFile) (*logFile, error) {
	for {
		if cur != nil {
			if err := r.readAvailable(cur, false); err != nil {
				return cur, err
			}
		}
		st, err := os.Stat(r.path)
		if errors.Is(err, os.ErrNotExist) {
			return cur, nil // not created yet, or mid-rotation
		}
		if err != nil {
			return cur, err
		}
		if cur != nil {
			cst, err := cur.f.Stat()
			if err != nil {
				return cur, err
			}
			if os.SameFile(st, cst) {
				if cst.Size() < cur.off { // truncated (a single-file rotation)
					cur.off, cur.carry, cur.skip = 0, nil, false
					continue
				}
				return cur, nil
			}
			// Rotated: cur is complete now, read its last bytes.
			if err := r.readAvailable(cur, true); err != nil {
				return cur, err
			}
		}
		next, err := r.successor(cur)
		if errors.Is(err, os.ErrNotExist) {
			return cur, nil // mid-rotation: look again after the next wait
		}
		if err != nil {
			return cur, err
		}
		if cur != nil {
			cur.f.Close()
		}
		cur = next
	}
}

// successor opens the file written after cur: if cur is now path.k, that
// is path.(k-1) (or path). If cur is gone or nil, the oldest file is next.
func (r *reader) successor(cur *logFile) (*logFile, error) {
	var cst os.FileInfo
	if cur != nil {
		var err error
		if cst, err = cur.f.Stat(); err != nil {
			return nil, err
		}
	}
	for range 100 {
		k, found := r.find(cst)
		f, err := os.Open(r.name(k - 1))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if found {
			// The writer may have rotated between find and Open, shifting
			// the names: cur must still be just after the file opened.
			st, serr := os.Stat(r.name(k))
			if serr != nil || !os.SameFile(st, cst) {
				if f != nil {
					f.Close()
				}
				continue
			}
		}
		if err != nil {
			return nil, os.ErrNotExist
		}
		return &logFile{f: f}, nil
	}
	return nil, os.ErrNotExist // rotating fast: try again after a wait
}

// find returns k where path.k is the file st, or one past the oldest file
// when st is nil or gone. A rotation in progress leaves one name missing
// while it shifts the others, so one gap does not end the search.
func (r *reader) find(st os.FileInfo) (int, bool) {
	oldest := 0
	for k := 1; k <= oldest+2; k++ {
		o, err := os.Stat(r.name(k))
		if err != nil {
			continue
		}
		if st != nil && os.SameFile(o, st) {
			return k, true
		}
		oldest = k
	}
	return oldest + 1, false
}

// name is the k-th log file: path, path.1, path.2 …
func (r *reader) name(k int) string {
	if k == 0 {
		return r.path
	}
	return r.path + "." + strconv.Itoa(k)
}
