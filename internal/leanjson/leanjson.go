// Package leanjson reads and writes the little JSON that the per-container
// supervisor handles (its spec, its state file, log records, one-line
// reports). encoding/json and fmt would add about half a megabyte of code
// and tables to a process that runs once per container; this package does
// without reflection and produces what encoding/json reads back unchanged.
package leanjson

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it: quotes, backslashes, control characters, <, > and &, U+2028 and
// U+2029; invalid UTF-8 becomes U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendTime appends t the way encoding/json writes a time.Time.
func AppendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// Object writes a JSON object one member at a time.
type Object struct {
	buf []byte
}

func (o *Object) key(k string) {
	if len(o.buf) == 0 {
		o.buf = append(o.buf, '{')
	} else {
		o.buf = append(o.buf, ',')
	}
	o.buf = AppendString(o.buf, k)
	o.buf = append(o.buf, ':')
}

// String adds a string member.
func (o *Object) String(k, v string) { o.key(k); o.buf = AppendString(o.buf, v) }

// Int adds a number member.
func (o *Object) Int(k string, v int64) { o.key(k); o.buf = strconv.AppendInt(o.buf, v, 10) }

// Uint adds a number member.
func (o *Object) Uint(k string, v uint64) { o.key(k); o.buf = strconv.AppendUint(o.buf, v, 10) }

// Bool adds a boolean member.
func (o *Object) Bool(k string, v bool) { o.key(k); o.buf = strconv.AppendBool(o.buf, v) }

// Time adds a time member.
func (o *Object) Time(k string, t time.Time) { o.key(k); o.buf = AppendTime(o.buf, t) }

// Raw adds a member whose value is already JSON (an Object's Bytes, an
// array, null).
func (o *Object) Raw(k string, v []byte) { o.key(k); o.buf = append(o.buf, v...) }

// Bytes ends the object and returns it.
func (o *Object) Bytes() []byte {
	if len(o.buf) == 0 {
		return []byte("{}")
	}
	return append(o.buf, '}')
}

// Value is a parsed JSON value. The zero Value is JSON null, and is what Get
// and Index return for what is not there, so lookups chain.
type Value struct {
	kind    byte // 0 null, 'b' bool, 's' string, 'n' number, 'o' object, 'a' array
	str     string
	boolean bool
	members []member
	items   []Value
}

type member struct {
	key string
	val Value
}

// Parse parses one JSON document.
func Parse(data []byte) (Value, error) {
	p := parser{data: data}
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.pos != len(p.data) {
		return Value{}, p.fail("trailing data")
	}
	return v, nil
}

// Get returns the member k of an object (the last, if repeated).
func (v Value) Get(k string) Value {
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].key == k {
			return v.members[i].val
		}
	}
	return Value{}
}

// Items returns the elements of an array.
func (v Value) Items() []Value { return v.items }

// Null reports whether v is null (or missing).
func (v Value) Null() bool { return v.kind == 0 }

// Str returns a string's content, "" for anything else.
func (v Value) Str() string {
	if v.kind == 's' {
		return v.str
	}
	return ""
}

// Bool returns a boolean, false for anything else.
func (v Value) Bool() bool { return v.kind == 'b' && v.boolean }

// Int returns a number as an int64 (truncated if it has a fraction), 0 for
// anything else.
func (v Value) Int() int64 {
	if v.kind != 'n' {
		return 0
	}
	if n, err := strconv.ParseInt(v.str, 10, 64); err == nil {
		return n
	}
	f, _ := strconv.ParseFloat(v.str, 64)
	return int64(f)
}

// Strings returns an array of strings.
func (v Value) Strings() []string {
	if v.kind != 'a' {
		return nil
	}
	out := make([]string, 0, len(v.items))
	for _, it := range v.items {
		out = append(out, it.Str())
	}
	return out
}

// maxDepth bounds nesting, so a hostile file cannot exhaust the stack.
const maxDepth = 64

type parser struct {
	data []byte
	pos  int
}

func (p *parser) fail(what string) error {
	return errors.New("JSON: " + what + " at offset " + strconv.Itoa(p.pos))
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.fail("nesting too deep")
	}
	p.space()
	if p.pos >= len(p.data) {
		return Value{}, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return Value{kind: 's', str: s}, err
	case c == 't' && p.literal("true"):
		return Value{kind: 'b', boolean: true}, nil
	case c == 'f' && p.literal("false"):
		return Value{kind: 'b'}, nil
	case c == 'n' && p.literal("null"):
		return Value{}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return Value{}, p.fail("unexpected character")
}

func (p *parser) object(depth int) (Value, error) {
	v := Value{kind: 'o'}
	p.pos++ // {
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.fail("expected a member name")
		}
		k, err := p.string()
		if err != nil {
			return Value{}, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.fail("expected ':'")
		}
		p.pos++
		val, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.members = append(v.members, member{k, val})
		p.space()
		if p.pos >= len(p.data) {
			return Value{}, p.fail("unexpected end")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return Value{}, p.fail("expected ',' or '}'")
		}
	}
}

func (p *parser) array(depth int) (Value, error) {
	v := Value{kind: 'a'}
	p.pos++ // [
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		it, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.items = append(v.items, it)
		p.space()
		if p.pos >= len(p.data) {
			return Value{}, p.fail("unexpected end")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return Value{}, p.fail("expected ',' or ']'")
		}
	}
}

func (p *parser) number() (Value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			p.pos++
			continue
		}
		break
	}
	s := string(p.data[start:p.pos])
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		p.pos = start
		return Value{}, p.fail("bad number")
	}
	return Value{kind: 'n', str: s}, nil
}

// string parses a quoted string, the opening quote at p.pos.
func (p *parser) string() (string, error) {
	p.pos++ // "
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++ // backslash
		if p.pos >= len(p.data) {
			break
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if r >= 0xd800 && r < 0xdc00 {
				// A surrogate pair makes one rune; a lone half is U+FFFD.
				save := p.pos
				if p.literal(`\u`) {
					if r2, ok := p.hex4(); ok && r2 >= 0xdc00 && r2 < 0xe000 {
						r = (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
						buf = utf8.AppendRune(buf, r)
						continue
					}
				}
				p.pos = save
				r = utf8.RuneError
			} else if r >= 0xdc00 && r < 0xe000 {
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}
