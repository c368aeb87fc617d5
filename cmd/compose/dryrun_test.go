package main

import (
	"bytes"
	"testing"
)

func TestLinePrefixer(t *testing.T) {
	var b bytes.Buffer
	p := &linePrefixer{w: &b, prefix: "P "}
	for _, s := range []string{"Deleted Networks:\n", "a", "b\nc\n", "", "\n"} {
		if n, err := p.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if want := "P Deleted Networks:\nP ab\nP c\nP \n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
