package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/composer-dev/compose/errdefs"
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
}

// record is one line of a json-file log.
type record struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// NewWriter opens (or creates, mode 0640) the log file at path for appending.
func NewWriter(path string, opts WriterOptions) (*Writer, error) {
	if opts.MaxSize < 0 || opts.MaxFiles < 0 {
		return nil, fmt.Errorf("log file %q: negative rotation limits: %w", path, errdefs.ErrInvalidArgument)
	}
	w := &Writer{path: path, opts: opts, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
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
	var buf bytes.Buffer
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("log file %q: %w", w.path, os.ErrClosed)
	}
	// The time is taken under the lock so the file is ordered by time.
	rec := record{Log: string(data), Stream: streamName, Time: w.now().UTC()}
	if err := json.NewEncoder(&buf).Encode(rec); err != nil {
		return err
	}
	if w.opts.MaxSize > 0 && w.size > 0 && w.size+int64(buf.Len()) > w.opts.MaxSize {
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
	n, err := w.f.Write(buf.Bytes())
	w.size += int64(n)
	return err
}

// rotate shifts path → path.1 → path.2 … dropping the oldest, or truncates
// when only one file is kept.
func (w *Writer) rotate() error {
	if w.opts.MaxFiles <= 1 {
		if err := w.f.Truncate(0); err != nil {
			return fmt.Errorf("log file rotate: %w", err)
		}
		w.size = 0
		return nil
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("log file rotate: %w", err)
	}
	w.f = nil
	name := func(i int) string { return w.path + "." + strconv.Itoa(i) }
	if err := os.Remove(name(w.opts.MaxFiles - 1)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("log file rotate: %w", err)
	}
	for i := w.opts.MaxFiles - 2; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log file rotate: %w", err)
		}
	}
	if err := os.Rename(w.path, name(1)); err != nil {
		return fmt.Errorf("log file rotate: %w", err)
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
		return 0, fmt.Errorf("log stream %q: %w", s.name, os.ErrClosed)
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
