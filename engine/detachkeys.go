package engine

import (
	"fmt"
	"io"
	"strings"

	"github.com/composer-dev/compose/errdefs"
)

// DefaultDetachKeys is the docker CLI's sequence to detach from a container.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ParseDetachKeys reads a --detach-keys value as the docker CLI does: keys
// separated by commas, each a single character or ctrl-<letter>, ctrl-@,
// ctrl-[, ctrl-\, ctrl-], ctrl-^ or ctrl-_.
func ParseDetachKeys(keys string) ([]byte, error) {
	var seq []byte
	for _, key := range strings.Split(keys, ",") {
		b, ok := keyByte(key)
		if !ok {
			return nil, fmt.Errorf("Invalid escape keys (%s) provided: %w", keys, errdefs.ErrInvalidArgument) //nolint:staticcheck // Docker's wording
		}
		seq = append(seq, b)
	}
	return seq, nil
}

func keyByte(key string) (byte, bool) {
	if len(key) == 1 {
		return key[0], true
	}
	c, ok := strings.CutPrefix(key, "ctrl-")
	if !ok || len(c) != 1 {
		return 0, false
	}
	switch ch := c[0]; {
	case ch >= 'a' && ch <= 'z':
		return ch - 'a' + 1, true
	case ch == '@' || ch == '[' || ch == '\\' || ch == ']' || ch == '^' || ch == '_':
		return ch - '@', true
	}
	return 0, false
}

// detachReader passes stdin through until the detach sequence is typed:
// then it calls detach and ends. Bytes that start the sequence are held
// back until it is clear they are not it.
type detachReader struct {
	r      io.Reader
	seq    []byte
	held   int // how many bytes of seq were matched so far
	pend   []byte
	detach func()
	done   bool
}

func (d *detachReader) Read(p []byte) (int, error) {
	if len(d.pend) > 0 {
		n := copy(p, d.pend)
		d.pend = d.pend[n:]
		return n, nil
	}
	if d.done {
		return 0, io.EOF
	}
	buf := make([]byte, len(p))
	n, err := d.r.Read(buf)
	var out []byte
	for _, b := range buf[:n] {
		if b == d.seq[d.held] {
			d.held++
			if d.held == len(d.seq) {
				d.done = true
				d.detach()
				break
			}
			continue
		}
		out = append(out, d.seq[:d.held]...) // not the sequence after all
		d.held = 0
		if b == d.seq[0] {
			d.held = 1
			continue
		}
		out = append(out, b)
	}
	k := copy(p, out)
	d.pend = append(d.pend, out[k:]...)
	if d.done && k == 0 {
		return 0, io.EOF
	}
	return k, err
}
