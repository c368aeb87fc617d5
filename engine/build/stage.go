package build

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/composer-dev/compose/errdefs"
)

// run is one Build: the parsed Dockerfile and the stages built so far.
type run struct {
	b      *Builder
	opts   Options
	d      *dockerfile
	ctx    *buildContext
	global env
	states map[int]*state
	res    *Result
	temps  []string // files to remove when the build ends (ADD downloads)
}

// stepLine prints "#N [name stage i/n] TEXT" and returns N.
type stepLine struct {
	n     int
	label string
}

func (r *run) label(i, pos, total int) string {
	var parts []string
	if r.opts.Name != "" {
		parts = append(parts, r.opts.Name)
	}
	if s := r.d.stages[i].Name; s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, fmt.Sprintf("%d/%d", pos, total))
	return "[" + strings.Join(parts, " ") + "]"
}

// vertex reports whether a command is shown as a step (as BuildKit shows
// FROM, RUN, COPY, ADD and WORKDIR; the rest only change the config).
func vertex(c instructions.Command) bool {
	switch c.(type) {
	case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand:
		return true
	}
	return false
}

// stage builds stage i into r.states[i].
func (r *run) stage(ctx context.Context, i int) error {
	s := r.d.stages[i]
	total := 1
	for _, c := range s.Commands {
		if vertex(c) {
			total++
		}
	}
	st, err := r.from(ctx, i, r.label(i, 1, total))
	if err != nil {
		return err
	}
	st.uncached = s.Name != "" && slices.ContainsFunc(r.opts.NoCacheFilter, func(f string) bool { return strings.EqualFold(f, s.Name) })
	cmds := s.Commands
	if len(st.onbuild) > 0 {
		triggers, err := parseTriggers(st.onbuild)
		if err != nil {
			return fmt.Errorf("%s: ONBUILD triggers of %s: %w", r.d.name, s.BaseName, err)
		}
		for _, c := range triggers {
			if vertex(c) {
				total++
			}
		}
		cmds = append(triggers, cmds...)
		st.onbuild = nil
	}
	pos := 1
	for _, c := range cmds {
		line := ""
		if vertex(c) {
			pos++
			line = r.label(i, pos, total)
		}
		next, err := r.command(ctx, i, st, c, line)
		if err != nil {
			return err
		}
		st = next
	}
	r.states[i] = st
	return nil
}

// from starts a stage: scratch, an earlier stage, or an image (pulled when
// missing, or always with --pull).
func (r *run) from(ctx context.Context, i int, label string) (*state, error) {
	base, err := r.d.baseName(i, r.global)
	if err != nil {
		return nil, err
	}
	if p := r.d.stages[i].Platform; p != "" {
		want, _, err := r.d.lex.ProcessWord(p, r.global)
		if err != nil {
			return nil, fmt.Errorf("%s: FROM --platform=%s: %v: %w", r.d.name, p, err, errdefs.ErrInvalidArgument)
		}
		if host, _ := r.global.Get("BUILDPLATFORM"); want != host && want != strings.TrimSuffix(host, "/v7") {
			return nil, fmt.Errorf("%s: FROM --platform=%s: only this host's platform (%s) can be built: %w", r.d.name, want, host, errdefs.ErrInvalidArgument)
		}
	}
	named := false
	if v, ok := r.opts.NamedContexts[base]; ok { // additional_contexts override stages and images
		named = true
		ref, isImage := strings.CutPrefix(v, dockerImagePrefix)
		if !isImage {
			return nil, fmt.Errorf("%s: FROM %s: only docker-image:// contexts can be a base: %w", r.d.name, base, errdefs.ErrInvalidArgument)
		}
		base = ref
	}
	n := r.b.nextStep()
	if j, ok := r.d.stageIndex(base, i); ok && r.d.stages[j].Name != "" && !named {
		fmt.Fprintf(r.opts.Out, "#%d %s FROM %s\n#%d DONE\n", n, label, base, n)
		base, err := r.stageState(ctx, j)
		if err != nil {
			return nil, err
		}
		st := base.clone()
		st.args, st.cmdSet = nil, false
		return st, nil
	}
	if strings.EqualFold(base, "scratch") {
		fmt.Fprintf(r.opts.Out, "#%d %s FROM scratch\n#%d DONE\n", n, label, n)
		return &state{key: stepKey("", "scratch"), cfg: v1.ConfigFile{
			OS: "linux", Architecture: runtime.GOARCH, RootFS: v1.RootFS{Type: "layers"},
			Config: v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		}}, nil
	}
	full, err := normalizeRef(base)
	if err != nil {
		return nil, fmt.Errorf("%s: FROM %s: %w", r.d.name, base, err)
	}
	fmt.Fprintf(r.opts.Out, "#%d %s FROM %s\n", n, label, full)
	raw, id, err := r.baseImage(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("%s: FROM %s: %w", r.d.name, base, err)
	}
	st := &state{key: stepKey("", "image", id)}
	if err := json.Unmarshal(raw, &st.cfg); err != nil {
		return nil, fmt.Errorf("image %s: config: %v: %w", base, err, errdefs.ErrInvalidArgument)
	}
	st.cfg.Config.Labels = copyMap(st.cfg.Config.Labels)
	// The base's ONBUILD triggers run now, and are not passed on.
	st.onbuild, st.cfg.Config.OnBuild = st.cfg.Config.OnBuild, nil
	fmt.Fprintf(r.opts.Out, "#%d DONE\n", n)
	return st, nil
}

// baseImage returns the stored image's config and ID, pulling it first
// when it is missing or --pull asks for it.
func (r *run) baseImage(ctx context.Context, ref string) ([]byte, string, error) {
	img, err := r.b.Images.Get(ref)
	if (err != nil && errdefs.IsNotFound(err) || r.opts.Pull) && r.b.Pull != nil {
		if perr := r.b.Pull(ctx, ref); perr != nil {
			if img == nil {
				return nil, "", perr
			}
		}
		img, err = r.b.Images.Get(ref)
	}
	if err != nil {
		return nil, "", err
	}
	raw, err := r.b.Images.RawConfig(img.ID)
	if err != nil {
		return nil, "", err
	}
	return raw, img.ID, nil
}

// expander expands words with the stage's ARGs and ENV (ENV wins).
func (r *run) expander(st *state) func(string) (string, error) {
	e := append(append(env(nil), st.args...), st.cfg.Config.Env...)
	return func(word string) (string, error) {
		out, _, err := r.d.lex.ProcessWord(word, e)
		return out, err
	}
}

// command applies one instruction to st and returns the new state.
func (r *run) command(ctx context.Context, stage int, parent *state, c instructions.Command, label string) (*state, error) {
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(r.expander(parent)); err != nil {
			return nil, fmt.Errorf("%s: %s: %v: %w", r.d.name, text(c), err, errdefs.ErrInvalidArgument)
		}
	}
	if ex, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(r.expander(parent)); err != nil {
			return nil, fmt.Errorf("%s: %s: %v: %w", r.d.name, text(c), err, errdefs.ErrInvalidArgument)
		}
	}
	switch c := c.(type) {
	case *instructions.RunCommand:
		return r.runStep(ctx, stage, parent, c, label)
	case *instructions.CopyCommand:
		from, err := r.expander(parent)(c.From) // --from=$STAGE
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v: %w", r.d.name, text(c), err, errdefs.ErrInvalidArgument)
		}
		return r.copyStep(ctx, stage, parent, copySpec{text: text(c), from: from, chown: c.Chown, chmod: c.Chmod, sd: c.SourcesAndDest, parents: c.Parents, excludes: c.ExcludePatterns}, label)
	case *instructions.AddCommand:
		return r.copyStep(ctx, stage, parent, copySpec{text: text(c), add: true, unpack: c.Unpack, chown: c.Chown, chmod: c.Chmod, sd: c.SourcesAndDest, checksum: c.Checksum, excludes: c.ExcludePatterns}, label)
	case *instructions.WorkdirCommand:
		n := r.b.nextStep()
		fmt.Fprintf(r.opts.Out, "#%d %s %s\n#%d DONE\n", n, label, text(c), n)
	}
	st := parent.clone()
	cmd := st.cfg.Config.Cmd
	if err := applyConfig(&st.cfg, &st.args, c, r.opts.Args, r.global); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.d.name, text(c), err)
	}
	switch c.(type) {
	case *instructions.CmdCommand:
		st.cmdSet = true
	case *instructions.EntrypointCommand:
		if st.cmdSet { // only a CMD inherited from the base is dropped
			st.cfg.Config.Cmd = cmd
		}
	}
	st.key = stepKey(parent.key, text(c), strings.Join(st.args, "\n"))
	st.cfg.History = append(st.cfg.History, v1.History{Created: st.cfg.Created, CreatedBy: text(c), Comment: historyComment, EmptyLayer: true})
	return st, nil
}

const historyComment = "buildkit.dockerfile.v0"

// applyConfig applies an instruction that only changes the image config
// (or the stage's ARGs). Pure: unit tests run it without root.
func applyConfig(cfg *v1.ConfigFile, args *env, c instructions.Command, buildArgs map[string]string, global env) error {
	cc := &cfg.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		e := env(cc.Env)
		for _, kv := range c.Env {
			e = e.set(kv.Key, kv.Value)
		}
		cc.Env = e
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, ok := buildArgs[kv.Key]
			if !ok && kv.Value != nil {
				v, ok = *kv.Value, true
			}
			if !ok {
				v, ok = global.Get(kv.Key)
			}
			if ok {
				*args = args.set(kv.Key, v)
			}
		}
	case *instructions.LabelCommand:
		if cc.Labels == nil {
			cc.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cc.Labels[kv.Key] = kv.Value
		}
	case *instructions.MaintainerCommand:
		cfg.Author = c.Maintainer
	case *instructions.WorkdirCommand:
		p := c.Path
		if !path.IsAbs(p) {
			p = path.Join("/", cc.WorkingDir, p)
		}
		cc.WorkingDir = path.Clean(p)
	case *instructions.UserCommand:
		cc.User = c.User
	case *instructions.ExposeCommand:
		if cc.ExposedPorts == nil {
			cc.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			for _, one := range strings.Fields(p) {
				ports, err := exposedPorts(one)
				if err != nil {
					return err
				}
				for _, port := range ports {
					cc.ExposedPorts[port] = struct{}{}
				}
			}
		}
	case *instructions.VolumeCommand:
		if cc.Volumes == nil {
			cc.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cc.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		cc.StopSignal = c.Signal
	case *instructions.ShellCommand:
		cc.Shell = append([]string(nil), c.Shell...)
	case *instructions.CmdCommand:
		cc.Cmd = commandLine(cc.Shell, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cc.Entrypoint = commandLine(cc.Shell, c.ShellDependantCmdLine)
		// A new entrypoint drops the base image's CMD, as Docker does.
		cc.Cmd = nil
	case *instructions.HealthCheckCommand:
		h := c.Health
		cc.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	case *instructions.OnbuildCommand:
		cc.OnBuild = append(cc.OnBuild, c.Expression)
	default:
		return fmt.Errorf("instruction %s is not supported: %w", c.Name(), errdefs.ErrInvalidArgument)
	}
	return nil
}

// shellOf is the stage's SHELL, or Docker's default.
func shellOf(s []string) []string {
	if len(s) == 0 {
		return []string{"/bin/sh", "-c"}
	}
	return s
}

// commandLine turns a shell or exec form into argv.
func commandLine(shell []string, c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return append(append([]string(nil), shellOf(shell)...), strings.Join(c.CmdLine, " "))
	}
	return append([]string(nil), c.CmdLine...)
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

// text is an instruction's source line.
func text(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return c.Name()
}

// parseTriggers parses a base image's ONBUILD triggers as instructions.
func parseTriggers(triggers []string) ([]instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(strings.Join(triggers, "\n")))
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
	}
	var out []instructions.Command
	for _, n := range res.AST.Children {
		v, err := instructions.ParseInstruction(n)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
		}
		c, ok := v.(instructions.Command)
		if !ok {
			return nil, fmt.Errorf("%s is not allowed as an ONBUILD trigger: %w", n.Value, errdefs.ErrInvalidArgument)
		}
		out = append(out, c)
	}
	return out, nil
}

// exposedPorts expands an EXPOSE argument ("80", "53/udp", "8000-8002")
// to Docker's "PORT/PROTO" keys.
func exposedPorts(s string) ([]string, error) {
	port, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	lo, hi, isRange := strings.Cut(port, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid port %q: %w", s, errdefs.ErrInvalidArgument)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
			return nil, fmt.Errorf("invalid port range %q: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	var out []string
	for p := a; p <= b; p++ {
		out = append(out, strconv.FormatUint(p, 10)+"/"+proto)
	}
	return out, nil
}

// stageState returns an earlier stage's result, building it now if the
// stage plan missed it (a --from set by a variable of the stage itself).
func (r *run) stageState(ctx context.Context, j int) (*state, error) {
	if r.states[j] == nil {
		if err := r.stage(ctx, j); err != nil {
			return nil, err
		}
	}
	return r.states[j], nil
}
