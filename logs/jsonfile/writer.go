// Package jsonfile writes a container's output to its log file in
// Docker's json-file format, one record per line, rotated by size like
// Docker's max-size and max-file. It runs in every container's supervisor,
// which is kept small: it encodes with leanjson and builds errors without
// fmt. Reading and following the file is package logs' job.
package jsonfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/internal/leanjson"
)

// maxLineSize is where a long line is cut into partial records, as Docker's
// log copier does with its 16 KiB buffer.
const maxLineSize = 16 * 1024

// WriterOptions configures rotation like Docker's json-file max-size/max-file.
type WriterOptions struct {
	// MaxSize is the size in bytes after which the file is rotated; 0 = never.
	MaxSize int64
	// MaxFiles is how many files to keep, the live one included (path,
	// path.1, …). With MaxSize set and MaxFiles <= 1 the file is truncated.
	MaxFiles int
	// Now is the clock records are stamped with; nil = time.Now (tests
	// inject one).
	Now func() time.Time
}

// Writer appends json-file records to a log file. Its streams may be
// written from different goroutines.
type Writer struct {
	path string
	opts WriterOptions
	now  func() time.Time // tests inject a clock

	mu      sync.Mutex
	f       *os.File
	size    int64
	streams []*stream
	closed  bool
	buf     []byte // the record being written, reused
}

// maxKeptBuffer bounds the record buffer kept between writes.
const maxKeptBuffer = 4 << 10

// Record is one line of a json-file log.
type Record struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// appendRecord appends rec as encoding/json's Encoder writes it.
func appendRecord(b []byte, rec Record) []byte {
	b = append(b, `{"log":`...)
	b = leanjson.AppendString(b, rec.Log)
	b = append(b, `,"stream":`...)
	b = leanjson.AppendString(b, rec.Stream)
	b = append(b, `,"time":`...)
	b = leanjson.AppendTime(b, rec.Time)
	return append(b, '}', '\n')
}

// wrapError is fmt.Errorf("%s: %w", msg, err).
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *wrapError) Unwrap() error { return e.err }

func wrap(msg string, err error) error { return &wrapError{msg, err} }

// NewWriter opens (or creates, mode 0640) the log file at path for appending.
func NewWriter(path string, opts WriterOptions) (*Writer, error) {
	if opts.MaxSize < 0 || opts.MaxFiles < 0 {
		return nil, wrap("log file "+strconv.Quote(path)+": negative rotation limits", errdefs.ErrInvalidArgument)
	}
	w := &Writer{path: path, opts: opts, now: opts.Now}
	if w.now == nil {
		w.now = time.Now
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return wrap("log file", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return wrap("log file", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Stream returns a writer for one stream ("stdout" or "stderr") that turns
// arbitrary chunks into one record per line.
func (w *Writer) Stream(name string) io.WriteCloser {
	s := &stream{w: w, name: name}
	w.mu.Lock()
	w.streams = append(w.streams, s)
	w.mu.Unlock()
	return s
}

// Close flushes any unterminated line of every stream and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	streams := w.streams
	w.mu.Unlock()
	var errs []error
	for _, s := range streams {
		errs = append(errs, s.Close())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.Join(errs...)
	}
	w.closed = true
	if w.f != nil {
		errs = append(errs, w.f.Close())
		w.f = nil
	}
	return errors.Join(errs...)
}

// write appends one record; data ends in "\n" unless it is a partial line.
func (w *Writer) write(streamName string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return wrap("log file "+strconv.Quote(w.path), os.ErrClosed)
	}
	// The time is taken under the lock so the file is ordered by time.
	buf := appendRecord(w.buf[:0], Record{Log: string(data), Stream: streamName, Time: w.now().UTC()})
	if cap(buf) <= maxKeptBuffer {
		w.buf = buf
	}
	if w.opts.MaxSize > 0 && w.size > 0 && w.size+int64(len(buf)) > w.opts.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	if w.f == nil { // a failed rotation left no file: try again
		if err := w.open(); err != nil {
			return err
		}
	}
	// One write per record: with O_APPEND readers never see half records
	// from two writers mixed.
	n, err := w.f.Write(buf)
	w.size += int64(n)
	return err
}

// rotate shifts path → path.1 → path.2 … dropping the oldest, or truncates
// when only one file is kept.
func (w *Writer) rotate() error {
	if w.opts.MaxFiles <= 1 {
		if err := w.f.Truncate(0); err != nil {
			return wrap("log file rotate", err)
		}
		w.size = 0
		return nil
	}
	if err := w.f.Close(); err != nil {
		return wrap("log file rotate", err)
	}
	w.f = nil
	name := func(i int) string { return w.path + "." + strconv.Itoa(i) }
	if err := os.Remove(name(w.opts.MaxFiles - 1)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return wrap("log file rotate", err)
	}
	for i := w.opts.MaxFiles - 2; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return wrap("log file rotate", err)
		}
	}
	if err := os.Rename(w.path, name(1)); err != nil {
		return wrap("log file rotate", err)
	}
	return w.open()
}

// stream buffers one output stream until it has whole lines.
type stream struct {
	w    *Writer
	name string

	mu     sync.Mutex
	buf    []byte
	closed bool
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, wrap("log stream "+strconv.Quote(s.name), os.ErrClosed)
	}
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		switch {
		case i >= 0 && i < maxLineSize:
			if err := s.w.write(s.name, s.buf[:i+1]); err != nil {
				return 0, err
			}
			s.buf = s.buf[i+1:]
		case len(s.buf) >= maxLineSize:
			// A long line: write its first 16 KiB as a partial record.
			if err := s.w.write(s.name, s.buf[:maxLineSize]); err != nil {
				return 0, err
			}
			s.buf = s.buf[maxLineSize:]
		default:
			// Keep the tail, in a fresh slice so the buffer does not grow forever.
			s.buf = append([]byte(nil), s.buf...)
			return len(p), nil
		}
	}
}

// Close writes an unterminated last line as a record without "\n".
func (s *stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if len(s.buf) == 0 {
		return nil
	}
	err := s.w.write(s.name, s.buf)
	s.buf = nil
	return err
}
