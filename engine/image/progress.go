package image

import (
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Event is one progress update, shaped like Docker's pull/push progress.
type Event struct {
	ID     string // image reference for image-level events; 12-hex short digest for layer events
	Parent string // for layer events: the image reference
	// Status is one of "Pulling", "Pulling fs layer", "Waiting",
	// "Downloading", "Verifying Checksum", "Download complete", "Extracting",
	// "Pull complete", "Already exists", "Pulled", "Pushing", "Pushed",
	// "Layer already exists", "Error".
	Status         string
	Current, Total int64 // bytes, for Downloading, Extracting and Pushing
	Done           bool  // final state of this ID
	Err            error
}

// ProgressFunc receives progress events. It may be nil; it is called from
// several goroutines at once.
type ProgressFunc func(Event)

// progressEvery limits byte-count events per layer: a terminal redraws
// about this often anyway.
const progressEvery = 100 * time.Millisecond

// reporter sends the events of one image; a nil reporter sends nothing.
type reporter struct {
	fn     ProgressFunc
	parent string
}

func newReporter(fn ProgressFunc, parent string) *reporter {
	if fn == nil {
		return nil
	}
	return &reporter{fn: fn, parent: parent}
}

// image sends an image-level event.
func (r *reporter) image(status string, done bool, err error) {
	if r == nil {
		return
	}
	r.fn(Event{ID: r.parent, Status: status, Done: done, Err: err})
}

// layer sends a layer event.
func (r *reporter) layer(id, status string, cur, total int64, done bool, err error) {
	if r == nil {
		return
	}
	r.fn(Event{ID: id, Parent: r.parent, Status: status, Current: cur, Total: total, Done: done, Err: err})
}

// bytes returns a func reporting a running byte count as status for id, at
// most every progressEvery; the last count is always sent by flush.
func (r *reporter) bytes(id, status string, total int64) (add func(int), flush func()) {
	if r == nil {
		return func(int) {}, func() {}
	}
	var (
		mu   sync.Mutex
		n    int64
		last time.Time
		sent int64 = -1
	)
	add = func(k int) {
		mu.Lock()
		defer mu.Unlock()
		n += int64(k)
		if now := time.Now(); now.Sub(last) >= progressEvery {
			last, sent = now, n
			r.layer(id, status, n, total, false, nil)
		}
	}
	flush = func() {
		mu.Lock()
		defer mu.Unlock()
		if sent != n {
			sent = n
			r.layer(id, status, n, total, false, nil)
		}
	}
	return add, flush
}

// shortID is the 12-hex form Docker shows for layers.
func shortID(h v1.Hash) string {
	hex := strings.TrimPrefix(h.String(), "sha256:")
	if h.Algorithm == "sha256" {
		hex = h.Hex
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// countingReader calls add with the size of every read, and atEOF once
// when the underlying reader reports io.EOF.
type countingReader struct {
	r      io.Reader
	add    func(int)
	atEOF  func()
	closer io.Closer
	n      int64
	eof    bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n += int64(n)
		c.add(n)
	}
	if err == io.EOF && !c.eof {
		c.eof = true
		if c.atEOF != nil {
			c.atEOF()
		}
	}
	return n, err
}

func (c *countingReader) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}
