package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/composer-dev/compose/errdefs"
)

// Layout is how one command's rows print: its default table and the
// conventions of Docker's command for it.
type Layout struct {
	// Table is the format of "" and "table": a "table " template.
	Table string
	// Header is what a table template renders as its header row: each
	// field's column name.
	Header any
	// MinWidth is the narrowest a table column gets (docker stats: 10).
	MinWidth int
	// JSONArray prints "json" as one array (ls and images, as Docker
	// Compose does) instead of one object per line.
	JSONArray bool
	// Fixed refuses templates: only "table" and "json" (ls, images).
	Fixed bool
}

// Format is a parsed --format value the way the docker CLI reads it:
// "json", "table" (the command's own columns), or a Go template, with a
// "table " prefix for a header row and aligned columns.
type Format struct {
	layout Layout
	json   bool
	table  bool // a header row and tab-aligned columns
	tmpl   *template.Template
}

// templateFuncs are the functions the docker CLI offers in --format templates.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n])
		}
		return s
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
}

// escapes are the sequences the docker CLI turns into tab and newline in
// a --format value, since shells pass `\t` through as two characters.
var escapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

// ParseFormat reads a --format value for rows laid out as l.
func ParseFormat(value string, l Layout) (*Format, error) {
	switch value {
	case "json":
		return &Format{layout: l, json: true}, nil
	case "", "table":
		value = l.Table
	default:
		if l.Fixed {
			return nil, fmt.Errorf("--format %q: use table or json: %w", value, errdefs.ErrInvalidArgument)
		}
	}
	f := &Format{layout: l}
	if rest, ok := strings.CutPrefix(value, "table"); ok {
		f.table = true
		value = strings.TrimLeft(rest, " ")
	}
	t, err := template.New("format").Funcs(templateFuncs).Parse(escapes.Replace(value) + "\n")
	if err != nil {
		return nil, fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
	}
	f.tmpl = t
	return f, nil
}

// mustFormat is the format of a command that takes no --format (top).
func mustFormat(l Layout) *Format {
	f, err := ParseFormat("", l)
	if err != nil {
		panic(err)
	}
	return f
}

// Write prints rows in f: JSON shows each row as it is; a template sees
// view(row), or the row itself when view is nil.
func Write[R any](out io.Writer, f *Format, rows []R, view func(R) any) error {
	if f.json {
		enc := json.NewEncoder(out)
		if f.layout.JSONArray {
			if rows == nil {
				rows = []R{}
			}
			return enc.Encode(rows)
		}
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	w := out
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(out, f.layout.MinWidth, 1, 3, ' ', 0)
		w = tw
		if err := f.execute(w, f.layout.Header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		var v any = r
		if view != nil {
			v = view(r)
		}
		if err := f.execute(w, v); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func (f *Format) execute(w io.Writer, data any) error {
	if err := f.tmpl.Execute(w, data); err != nil {
		return fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
	}
	return nil
}
