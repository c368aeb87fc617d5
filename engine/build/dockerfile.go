package build

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/composer-dev/compose/errdefs"
)

// dockerfile is a parsed Dockerfile: its stages and the ARGs before the
// first FROM.
type dockerfile struct {
	name     string // for messages
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	lex      *shell.Lex
}

// parseDockerfile parses with BuildKit's parser and instruction packages.
func parseDockerfile(name string, content []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", name, err, errdefs.ErrInvalidArgument)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", name, lineOf(err), errdefs.ErrInvalidArgument)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction: %w", name, errdefs.ErrInvalidArgument)
	}
	return &dockerfile{name: name, stages: stages, metaArgs: metaArgs, lex: shell.NewLex(res.EscapeToken)}, nil
}

// lineOf prefixes a parse error with its Dockerfile line when it has one.
func lineOf(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return fmt.Sprintf("line %d: %v", le.Locations[0][0].Start.Line, errors.Unwrap(le))
	}
	return err.Error()
}

// platformArgs are the automatic platform ARGs, for this host (builds run
// natively only).
func platformArgs() map[string]string {
	arch, variant := runtime.GOARCH, ""
	if arch == "arm" {
		variant = "v7"
	}
	p := "linux/" + arch
	if variant != "" {
		p += "/" + variant
	}
	return map[string]string{
		"TARGETPLATFORM": p, "TARGETOS": "linux", "TARGETARCH": arch, "TARGETVARIANT": variant,
		"BUILDPLATFORM": p, "BUILDOS": "linux", "BUILDARCH": arch, "BUILDVARIANT": variant,
	}
}

// env is a list of NAME=VALUE (later entries win) that the shell lexer reads.
type env []string

func (e env) Get(k string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if n, v, _ := strings.Cut(e[i], "="); n == k {
			return v, true
		}
	}
	return "", false
}

func (e env) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, kv := range e {
		n, _, _ := strings.Cut(kv, "=")
		if !seen[n] {
			seen[n] = true
			keys = append(keys, n)
		}
	}
	return keys
}

// set returns e with k=v replacing any earlier k.
func (e env) set(k, v string) env {
	out := make(env, 0, len(e)+1)
	for _, kv := range e {
		if n, _, _ := strings.Cut(kv, "="); n != k {
			out = append(out, kv)
		}
	}
	return append(out, k+"="+v)
}

// globalArgs evaluates the ARGs before the first FROM with the build args:
// they are what FROM lines expand with, and the defaults that a stage's
// `ARG NAME` without a value takes.
func (d *dockerfile) globalArgs(buildArgs map[string]string) (env, error) {
	var out env
	for k, v := range platformArgs() {
		out = out.set(k, v)
	}
	for _, a := range d.metaArgs {
		for _, kv := range a.Args {
			v, given := buildArgs[kv.Key]
			if !given {
				if kv.Value == nil {
					continue
				}
				var err error
				if v, _, err = d.lex.ProcessWord(*kv.Value, out); err != nil {
					return nil, fmt.Errorf("%s: ARG %s: %v: %w", d.name, kv.Key, err, errdefs.ErrInvalidArgument)
				}
			}
			out = out.set(kv.Key, v)
		}
	}
	return out, nil
}

// stageIndex finds a stage by name (case-insensitive) or number.
func (d *dockerfile) stageIndex(ref string, before int) (int, bool) {
	for i := 0; i < before && i < len(d.stages); i++ {
		if d.stages[i].Name != "" && strings.EqualFold(d.stages[i].Name, ref) {
			return i, true
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < before && n < len(d.stages) {
		return n, true
	}
	return 0, false
}

// target returns the index of the stage to build: the named one, or the last.
func (d *dockerfile) target(name string) (int, error) {
	if name == "" {
		return len(d.stages) - 1, nil
	}
	if i, ok := d.stageIndex(name, len(d.stages)); ok && d.stages[i].Name != "" {
		return i, nil
	}
	return 0, fmt.Errorf("%s: target stage %q could not be found: %w", d.name, name, errdefs.ErrNotFound)
}

// baseName is the stage's FROM argument expanded with the global args.
func (d *dockerfile) baseName(i int, global env) (string, error) {
	s := d.stages[i]
	name, _, err := d.lex.ProcessWord(s.BaseName, global)
	if err != nil {
		return "", fmt.Errorf("%s: FROM %s: %v: %w", d.name, s.BaseName, err, errdefs.ErrInvalidArgument)
	}
	if name == "" {
		return "", fmt.Errorf("%s: FROM %s: base name is empty after expansion: %w", d.name, s.BaseName, errdefs.ErrInvalidArgument)
	}
	return name, nil
}

// needed lists, in order, the stages the target depends on (its base stages
// and the stages its COPY --from names), the target last. Other stages are
// not built.
func (d *dockerfile) needed(target int, global env) ([]int, error) {
	want := map[int]bool{}
	var visit func(i int) error
	visit = func(i int) error {
		if want[i] {
			return nil
		}
		want[i] = true
		base, err := d.baseName(i, global)
		if err != nil {
			return err
		}
		if j, ok := d.stageIndex(base, i); ok && d.stages[j].Name != "" {
			if err := visit(j); err != nil {
				return err
			}
		}
		for _, c := range d.stages[i].Commands {
			var froms []string
			switch c := c.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					froms = append(froms, c.From)
				}
			case *instructions.RunCommand:
				froms = mountFroms(c.String())
			}
			for _, f := range froms {
				from, _, err := d.lex.ProcessWord(f, global)
				if err != nil {
					return fmt.Errorf("%s: --from=%s: %v: %w", d.name, f, err, errdefs.ErrInvalidArgument)
				}
				if j, ok := d.stageIndex(from, i); ok {
					if err := visit(j); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := visit(target); err != nil {
		return nil, err
	}
	var out []int
	for i := range d.stages {
		if want[i] {
			out = append(out, i)
		}
	}
	return out, nil
}

var mountFrom = regexp.MustCompile(`--mount=\S*\bfrom=([^,\s]+)`)

// mountFroms lists the from= of a RUN line's --mount flags (they are parsed
// only when the step runs, but the stages they name must be built first).
func mountFroms(line string) []string {
	var out []string
	for _, m := range mountFrom.FindAllStringSubmatch(line, -1) {
		out = append(out, m[1])
	}
	return out
}
