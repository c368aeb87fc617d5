package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/composer-dev/compose/errdefs"
)

// rowFormat is a parsed --format value the way the docker CLI reads it:
// "json" (one object per line), "table" (the command's own columns), or a
// Go template, with a "table " prefix for a header row and aligned columns.
type rowFormat struct {
	json   bool
	table  bool // a header row and tab-aligned columns
	tmpl   *template.Template
	header any // what the template renders as the header row
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

// parseRowFormat reads format; defaultTable is used for "" and "table".
func parseRowFormat(format, defaultTable string, header any) (*rowFormat, error) {
	switch format {
	case "json":
		return &rowFormat{json: true}, nil
	case "", "table":
		format = defaultTable
	}
	f := &rowFormat{header: header}
	if rest, ok := strings.CutPrefix(format, "table"); ok {
		f.table = true
		format = strings.TrimLeft(rest, " ")
	}
	t, err := template.New("format").Funcs(templateFuncs).Parse(format + "\n")
	if err != nil {
		return nil, fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
	}
	f.tmpl = t
	return f, nil
}

// write prints rows: JSON objects of jsonRows, or the template over rows.
func (f *rowFormat) write(out io.Writer, rows []any, jsonRows []any) error {
	if f.json {
		enc := json.NewEncoder(out)
		for _, r := range jsonRows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	w := out
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		w = tw
		if err := f.tmpl.Execute(w, f.header); err != nil {
			return fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
	}
	for _, r := range rows {
		if err := f.tmpl.Execute(w, r); err != nil {
			return fmt.Errorf("--format: %w", errdefs.Mark(errdefs.ErrInvalidArgument, err))
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}
