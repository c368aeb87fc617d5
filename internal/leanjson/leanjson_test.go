package leanjson

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
	"time"
)

var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "line\nbreak\r\ttab", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "é ü 日本 🙂", "\u2028\u2029", "bad \xff\xfe utf8", "\xed\xa0\x80 surrogate bytes",
	strings.Repeat("long ", 1000),
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	strs := append([]string(nil), trickyStrings...)
	rnd := rand.New(rand.NewSource(1))
	for range 2000 {
		b := make([]byte, rnd.Intn(40))
		for i := range b {
			b[i] = byte(rnd.Intn(256))
		}
		strs = append(strs, string(b))
	}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendTimeMatchesEncodingJSON(t *testing.T) {
	for _, tm := range []time.Time{{}, time.Unix(1700000000, 123456789).UTC(), time.Unix(1700000000, 0).In(time.FixedZone("x", 3600)), time.Now()} {
		want, _ := json.Marshal(tm)
		if got := AppendTime(nil, tm); string(got) != string(want) {
			t.Errorf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestObjectIsReadByEncodingJSON(t *testing.T) {
	var o Object
	o.String("s", "a\"b")
	o.Int("i", -42)
	o.Uint("u", 1<<63)
	o.Bool("b", true)
	o.Time("t", time.Unix(5, 6).UTC())
	var inner Object
	inner.String("x", "y")
	o.Raw("o", inner.Bytes())
	o.Raw("n", []byte("null"))
	var got struct {
		S string
		I int
		U uint64
		B bool
		T time.Time
		O map[string]string
		N *int
	}
	if err := json.Unmarshal(o.Bytes(), &got); err != nil {
		t.Fatalf("%s: %v", o.Bytes(), err)
	}
	if got.S != "a\"b" || got.I != -42 || got.U != 1<<63 || !got.B || !got.T.Equal(time.Unix(5, 6)) || got.O["x"] != "y" || got.N != nil {
		t.Errorf("read back %+v", got)
	}
	var empty Object
	if string(empty.Bytes()) != "{}" {
		t.Errorf("empty object %s", empty.Bytes())
	}
}

func TestParse(t *testing.T) {
	type doc struct {
		ID      string
		N       int64
		F       float64
		Yes     bool
		Nothing *string
		List    []string
		Nested  struct{ Tty, OpenStdin bool }
		Escaped string
	}
	in := doc{ID: "abc", N: -1 << 62, F: 2.5, Yes: true, List: []string{"a", "b c"}, Escaped: "é\n\"<x>\" 🙂 \u2028 \\"}
	in.Nested.OpenStdin = true
	data, _ := json.MarshalIndent(in, "", "  ")
	v, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("ID").Str() != in.ID || v.Get("N").Int() != in.N || v.Get("F").Int() != 2 || !v.Get("Yes").Bool() ||
		!v.Get("Nothing").Null() || strings.Join(v.Get("List").Strings(), "|") != "a|b c" ||
		v.Get("Nested").Get("Tty").Bool() || !v.Get("Nested").Get("OpenStdin").Bool() || v.Get("Escaped").Str() != in.Escaped {
		t.Errorf("parsed %+v", v)
	}
	if !v.Get("missing").Get("deeper").Null() || v.Get("missing").Str() != "" {
		t.Error("a missing member must read as null")
	}
	if s, _ := Parse([]byte(`"\ud83d\ude42 \ud83d \u00e9"`)); s.Str() != "🙂 \ufffd é" {
		t.Errorf("surrogates: %q", s.Str())
	}
}

func TestParseRejectsBadJSON(t *testing.T) {
	for _, bad := range []string{"", "{", `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `"unterminated`, `"ctl` + "\x01" + `"`, `{"a":1} x`, `tru`, `-`, `1.2.3`, `"\x"`, strings.Repeat("[", 100) + strings.Repeat("]", 100)} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
