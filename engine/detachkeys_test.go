package engine

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

// `docker compose attach --detach-keys` takes the docker CLI's key syntax
// (default "ctrl-p,ctrl-q"); a bad one is "Invalid escape keys (...) provided".
func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string][]byte{
		DefaultDetachKeys: {16, 17},
		"ctrl-a,x":        {1, 'x'},
		"ctrl-@,ctrl-_":   {0, 31},
	} {
		got, err := ParseDetachKeys(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseDetachKeys(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	_, err := ParseDetachKeys("ctrl-1")
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "Invalid escape keys (ctrl-1) provided") {
		t.Errorf("bad keys: %v", err)
	}
}

// What precedes the sequence reaches the container, a partial match that
// turns out not to be the sequence is passed on, and the sequence itself
// detaches and is not sent.
func TestDetachReader(t *testing.T) {
	detached := false
	r := &detachReader{r: strings.NewReader("ab\x10c\x10\x11zz"), seq: []byte{16, 17}, detach: func() { detached = true }}
	got, _ := io.ReadAll(r)
	if string(got) != "ab\x10c" || !detached {
		t.Errorf("read %q, detached %v", got, detached)
	}
	detached = false
	r = &detachReader{r: strings.NewReader("plain"), seq: []byte{16, 17}, detach: func() { detached = true }}
	if got, _ := io.ReadAll(r); string(got) != "plain" || detached {
		t.Errorf("read %q, detached %v", got, detached)
	}
}
