package status

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/composer-dev/compose/errdefs"
)

type testRow struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Tags  []string
}

var testLayout = Layout{
	Table:  "table {{.Name}}\t{{.State}}",
	Header: map[string]string{"Name": "NAME", "State": "STATE", "Tags": "TAGS"},
}

var testRows = []testRow{{"p-web-1", "running", []string{"a", "b"}}, {"p-db-1", "exited", nil}}

func TestFormat(t *testing.T) {
	tests := []struct {
		name, format string
		layout       Layout
	}{
		{"default", "", testLayout},
		{"table", "table", testLayout},
		{"template", "{{.Name}}", testLayout},
		{"table-template", "table {{.Name}}\t{{.State}}\t{{.Tags}}", testLayout},
		// Shells pass \t and \n through: the docker CLI turns them into tab and newline.
		{"escapes", `table {{.State}}\t{{.Name}}`, testLayout},
		{"escaped-newline", `{{.Name}}:\n  {{.State}}`, testLayout},
		{"functions", `{{.Name | upper}} {{json .State}} {{join .Tags ","}} {{truncate .Name 3}}|{{pad .State 1 2}}|{{title .State}} {{lower "X"}} {{index (split .Name "-") 1}}`, testLayout},
		{"json", "json", testLayout},
		{"json-array", "json", Layout{JSONArray: true}},
		{"narrow", "table {{truncate .Name 3}}\t{{.State}}", testLayout},
		{"min-width", "table {{truncate .Name 3}}\t{{.State}}", Layout{Header: testLayout.Header, MinWidth: 10}},
		// Without "table", tabs are not aligned (as in the docker CLI).
		{"tabs-unaligned", `{{.Name}}\t{{.State}}`, Layout{MinWidth: 10}},
	}
	var all strings.Builder
	for _, tt := range tests {
		f, err := ParseFormat(tt.format, tt.layout)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var out bytes.Buffer
		if err := Write(&out, f, testRows, nil); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		all.WriteString("== " + tt.name + " " + tt.format + "\n" + out.String())
	}
	golden(t, "format", all.String())
}

func TestFormatView(t *testing.T) {
	f, err := ParseFormat("table {{.Upper}}", Layout{Header: map[string]string{"Upper": "UPPER"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	view := func(r testRow) any { return map[string]string{"Upper": strings.ToUpper(r.Name)} }
	if err := Write(&out, f, testRows, view); err != nil {
		t.Fatal(err)
	}
	if want := "UPPER\nP-WEB-1\nP-DB-1\n"; out.String() != want {
		t.Errorf("a view: %q, want %q", out.String(), want)
	}
	// JSON shows the row itself, not the view.
	f, _ = ParseFormat("json", Layout{})
	out.Reset()
	if err := Write(&out, f, testRows[:1], view); err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"p-web-1","state":"running","Tags":["a","b"]}` + "\n"; out.String() != want {
		t.Errorf("json with a view: %q, want %q", out.String(), want)
	}
}

func TestFormatEmpty(t *testing.T) {
	for _, tt := range []struct {
		format string
		layout Layout
		want   string
	}{
		{"table", testLayout, "NAME   STATE\n"},
		{"{{.Name}}", testLayout, ""},
		{"json", testLayout, ""},
		{"json", Layout{JSONArray: true}, "[]\n"},
	} {
		f, err := ParseFormat(tt.format, tt.layout)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Write[testRow](&out, f, nil, nil); err != nil || out.String() != tt.want {
			t.Errorf("%q of no rows = %q, %v; want %q", tt.format, out.String(), err, tt.want)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	for _, tt := range []struct {
		format string
		layout Layout
	}{
		{"{{.Name", testLayout},
		{"{{nope .Name}}", testLayout},
		{"{{.Name}}", Layout{Fixed: true}},
		{"table {{.Name}}", Layout{Fixed: true}},
	} {
		if _, err := ParseFormat(tt.format, tt.layout); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseFormat(%q): %v, want an invalid argument", tt.format, err)
		}
	}
	for _, format := range []string{"table", "json"} {
		if _, err := ParseFormat(format, Layout{Table: "table {{.Name}}", Fixed: true}); err != nil {
			t.Errorf("ParseFormat(%q) of a fixed layout: %v", format, err)
		}
	}
	// A template that fails on a row, or on the header.
	for _, format := range []string{"{{.Name.Nope}}", "table {{.Name.Nope}}"} {
		f, err := ParseFormat(format, testLayout)
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(&bytes.Buffer{}, f, testRows, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Write(%q): %v, want an invalid argument", format, err)
		}
	}
}
